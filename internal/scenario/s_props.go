package scenario

import (
	"strings"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// defaultScenario is a scenario reading one or more getters of a new download job.
func defaultScenario(name string, docs []string, run func(e *Env, j bits.Job)) Scenario {
	return Scenario{Name: "defaults/" + name, Docs: docs, Run: func(e *Env) {
		run(e, e.CreateJob(e.Marker(), bits.Download))
	}}
}

func defaultsScenarios() []Scenario {
	return []Scenario{
		defaultScenario("priority", []string{"IBackgroundCopyJob::SetPriority (the default is NORMAL)", "BG_JOB_PRIORITY"}, func(e *Env, j bits.Job) {
			Get(e, "GetPriority", j.GetPriority, bits.Normal)
		}),
		defaultScenario("minimum-retry-delay", []string{"IBackgroundCopyJob::SetMinimumRetryDelay (600 seconds by default)"}, func(e *Env, j bits.Job) {
			Get(e, "GetMinimumRetryDelay", j.GetMinimumRetryDelay, uint32(600))
		}),
		defaultScenario("no-progress-timeout", []string{"IBackgroundCopyJob::SetNoProgressTimeout (1,209,600 seconds, 14 days, by default)"}, func(e *Env, j bits.Job) {
			Get(e, "GetNoProgressTimeout", j.GetNoProgressTimeout, uint32(1209600))
		}),
		defaultScenario("notify-flags", []string{"IBackgroundCopyJob::GetNotifyFlags", "IBackgroundCopyJob::SetNotifyFlags (JobTransferred and JobError)"}, func(e *Env, j bits.Job) {
			f, err := j.GetNotifyFlags()
			if e.HR("GetNotifyFlags", err, sOK) {
				e.Hex("GetNotifyFlags value", uint64(f), uint64(bits.DefaultNotifyFlags))
			}
		}),
		defaultScenario("notify-interface", []string{"IBackgroundCopyJob::GetNotifyInterface (NULL when none is registered)"}, func(e *Env, j bits.Job) {
			cb, err := j.GetNotifyInterface()
			if e.HR("GetNotifyInterface", err, sOK) {
				e.Eq("callback registered", cb != nil, false)
			}
		}),
		defaultScenario("proxy", []string{"IBackgroundCopyJob::SetProxySettings (PRECONFIG by default)", "IBackgroundCopyJob::GetProxySettings"}, func(e *Env, j bits.Job) {
			p, err := j.GetProxySettings()
			if e.HR("GetProxySettings", err, sOK) {
				e.Eq("usage", p.Usage, bits.ProxyPreconfig)
				e.Eq("proxy list", p.ProxyList, "")
				e.Eq("bypass list", p.BypassList, "")
			}
		}),
		defaultScenario("description", []string{"IBackgroundCopyJob::GetDescription", "decision: an empty description by default"}, func(e *Env, j bits.Job) {
			Get(e, "GetDescription", j.GetDescription, "")
		}),
		defaultScenario("owner", []string{"IBackgroundCopyJob::GetOwner (the owner's SID as a string)"}, func(e *Env, j bits.Job) {
			o, err := j.GetOwner()
			if e.HR("GetOwner", err, sOK) {
				e.True("owner is a SID string", strings.HasPrefix(o, "S-1-"))
			}
		}),
		defaultScenario("times", []string{"BG_JOB_TIMES (TransferCompletionTime is zero until the job is TRANSFERRED)", "IBackgroundCopyJob::GetTimes"}, func(e *Env, j bits.Job) {
			t, err := j.GetTimes()
			if e.HR("GetTimes", err, sOK) {
				e.True("CreationTime set", !t.CreationTime.IsZero())
				e.True("CreationTime within a day of now", time.Since(t.CreationTime).Abs() < 24*time.Hour)
				e.True("ModificationTime >= CreationTime", !t.ModificationTime.Before(t.CreationTime))
				e.True("TransferCompletionTime zero", t.TransferCompletionTime.IsZero())
			}
		}),
		defaultScenario("modification-time-moves", []string{"BG_JOB_TIMES (ModificationTime changes when a property is set)"}, func(e *Env, j bits.Job) {
			before, err := j.GetTimes()
			e.Must("GetTimes", err)
			e.Hold(50 * time.Millisecond)
			e.Must("SetDescription", j.SetDescription("changed"))
			after, err := j.GetTimes()
			if e.HR("GetTimes after SetDescription", err, sOK) {
				e.True("ModificationTime later than before", after.ModificationTime.After(before.ModificationTime))
				e.True("CreationTime unchanged", after.CreationTime.Equal(before.CreationTime))
			}
		}),
		defaultScenario("progress", []string{"BG_JOB_PROGRESS (no files: all zero)", "IBackgroundCopyJob::GetProgress"}, func(e *Env, j bits.Job) {
			e.progress("GetProgress", j, bits.Progress{})
		}),
		defaultScenario("error", []string{"IBackgroundCopyJob::GetErrorCount", "IBackgroundCopyJob::GetError (BG_E_ERROR_INFORMATION_UNAVAILABLE outside ERROR and TRANSIENT_ERROR)"}, func(e *Env, j bits.Job) {
			Get(e, "GetErrorCount", j.GetErrorCount, uint32(0))
			_, err := j.GetError()
			e.HR("GetError", err, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE)
		}),
		defaultScenario("notify-cmdline", []string{"IBackgroundCopyJob2::GetNotifyCmdLine (empty strings when none is set)"}, func(e *Env, j bits.Job) {
			Get(e, "GetNotifyCmdLine", j.GetNotifyCmdLine, bits.NotifyCmdLine{})
		}),
		defaultScenario("maximum-download-time", []string{"IBackgroundCopyJob4::SetMaximumDownloadTime (7,776,000 seconds, 90 days, by default)"}, func(e *Env, j bits.Job) {
			Get(e, "GetMaximumDownloadTime", j.GetMaximumDownloadTime, uint32(7776000))
		}),
		defaultScenario("custom-headers", []string{"IBackgroundCopyJobHttpOptions::GetCustomHeaders (S_FALSE when none are set)"}, func(e *Env, j bits.Job) {
			h, code, err := j.GetCustomHeaders()
			if e.Code("GetCustomHeaders", code, err, hresult.S_FALSE) {
				e.Eq("headers", h, "")
			}
		}),
		defaultScenario("security-flags", []string{"IBackgroundCopyJobHttpOptions::GetSecurityFlags", "IBackgroundCopyJobHttpOptions::SetSecurityFlags (redirects are followed silently by default)"}, func(e *Env, j bits.Job) {
			f, err := j.GetSecurityFlags()
			if e.HR("GetSecurityFlags", err, sOK) {
				e.Hex("GetSecurityFlags value", uint64(f), 0)
			}
		}),
		defaultScenario("http-method", []string{"IBackgroundCopyJobHttpOptions2::GetHttpMethod (GET for a download job)"}, func(e *Env, j bits.Job) {
			Get(e, "GetHttpMethod", j.GetHttpMethod, "GET")
		}),
		defaultScenario("file-acl-flags", []string{"IBackgroundCopyJob3::GetFileACLFlags (0 when none are set)"}, func(e *Env, j bits.Job) {
			Get(e, "GetFileACLFlags", j.GetFileACLFlags, uint32(0))
		}),
		defaultScenario("reply-methods", []string{"IBackgroundCopyJob2::GetReplyProgress (E_NOTIMPL for a download job)", "IBackgroundCopyJob2::GetReplyFileName (E_NOTIMPL)", "IBackgroundCopyJob2::GetReplyData (E_NOTIMPL)"}, func(e *Env, j bits.Job) {
			_, err := j.GetReplyProgress()
			e.HR("GetReplyProgress", err, hresult.E_NOTIMPL)
			_, err = j.GetReplyFileName()
			e.HR("GetReplyFileName", err, hresult.E_NOTIMPL)
			_, err = j.GetReplyData()
			e.HR("GetReplyData", err, hresult.E_NOTIMPL)
		}),
	}
}

func setterScenarios() []Scenario {
	return []Scenario{
		{
			Name: "set/priority",
			Docs: []string{"IBackgroundCopyJob::SetPriority (E_NOTIMPL for a value not in BG_JOB_PRIORITY)", "IBackgroundCopyJob::GetPriority"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				for _, p := range []bits.Priority{bits.Foreground, bits.High, bits.Low, bits.Normal} {
					e.HR("SetPriority("+p.String()+")", j.SetPriority(p), sOK)
					Get(e, "GetPriority", j.GetPriority, p)
				}
				e.HR("SetPriority(4)", j.SetPriority(bits.Priority(4)), hresult.E_NOTIMPL)
				Get(e, "GetPriority after the refused value", j.GetPriority, bits.Normal)
			},
		},
		{
			Name: "set/minimum-retry-delay",
			Docs: []string{"IBackgroundCopyJob::SetMinimumRetryDelay (values under 5 seconds become 5)", "IBackgroundCopyJob::GetMinimumRetryDelay"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetMinimumRetryDelay(60)", j.SetMinimumRetryDelay(60), sOK)
				Get(e, "GetMinimumRetryDelay", j.GetMinimumRetryDelay, uint32(60))
				e.HR("SetMinimumRetryDelay(1)", j.SetMinimumRetryDelay(1), sOK)
				Get(e, "GetMinimumRetryDelay", j.GetMinimumRetryDelay, uint32(5))
			},
		},
		{
			Name: "set/no-progress-timeout",
			Docs: []string{"IBackgroundCopyJob::SetNoProgressTimeout", "IBackgroundCopyJob::GetNoProgressTimeout"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetNoProgressTimeout(3600)", j.SetNoProgressTimeout(3600), sOK)
				Get(e, "GetNoProgressTimeout", j.GetNoProgressTimeout, uint32(3600))
				e.HR("SetNoProgressTimeout(0)", j.SetNoProgressTimeout(0), sOK)
				Get(e, "GetNoProgressTimeout", j.GetNoProgressTimeout, uint32(0))
			},
		},
		{
			Name: "set/notify-flags",
			Docs: []string{"IBackgroundCopyJob::SetNotifyFlags (E_NOTIMPL for flags that are not defined)", "IBackgroundCopyJob::GetNotifyFlags"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				all := bits.NotifyJobTransferred | bits.NotifyJobError | bits.NotifyDisable | bits.NotifyJobModification | bits.NotifyFileTransferred
				e.HR("SetNotifyFlags(0x1F)", j.SetNotifyFlags(all), sOK)
				if f, err := j.GetNotifyFlags(); e.HR("GetNotifyFlags", err, sOK) {
					e.Hex("GetNotifyFlags value", uint64(f), uint64(all))
				}
				e.HR("SetNotifyFlags(0x40)", j.SetNotifyFlags(0x40), hresult.E_NOTIMPL)
				if f, err := j.GetNotifyFlags(); e.HR("GetNotifyFlags after the refused flags", err, sOK) {
					e.Hex("GetNotifyFlags value after the refused flags", uint64(f), uint64(all))
				}
			},
		},
		{
			Name: "set/notify-flags-file-ranges",
			Docs: []string{"IBackgroundCopyJob::SetNotifyFlags (BG_NOTIFY_FILE_RANGES_TRANSFERRED, BITS 10.1)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetNotifyFlags(0x23)", j.SetNotifyFlags(bits.DefaultNotifyFlags|bits.NotifyFileRangesTransferred), sOK)
			},
		},
		{
			Name: "set/proxy",
			Docs: []string{"IBackgroundCopyJob::SetProxySettings (E_INVALIDARG: no proxy list with OVERRIDE; E_NOTIMPL: undefined usage; the lists must be NULL for other usages)", "IBackgroundCopyJob::GetProxySettings"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetProxySettings(OVERRIDE)", j.SetProxySettings(bits.ProxyOverride, "proxy.example:8080", "<local>"), sOK)
				if p, err := j.GetProxySettings(); e.HR("GetProxySettings", err, sOK) {
					e.Eq("usage", p.Usage, bits.ProxyOverride)
					e.Eq("proxy list", p.ProxyList, "proxy.example:8080")
					e.Eq("bypass list", p.BypassList, "<local>")
				}
				e.HR("SetProxySettings(OVERRIDE, no list)", j.SetProxySettings(bits.ProxyOverride, "", ""), hresult.E_INVALIDARG)
				e.HR("SetProxySettings(NO_PROXY, a list)", j.SetProxySettings(bits.ProxyNoProxy, "proxy.example:8080", ""), hresult.E_INVALIDARG)
				e.HR("SetProxySettings(usage 4)", j.SetProxySettings(bits.ProxyUsage(4), "", ""), hresult.E_NOTIMPL)
				e.HR("SetProxySettings(NO_PROXY)", j.SetProxySettings(bits.ProxyNoProxy, "", ""), sOK)
				if p, err := j.GetProxySettings(); e.HR("GetProxySettings after NO_PROXY", err, sOK) {
					e.Eq("usage after NO_PROXY", p.Usage, bits.ProxyNoProxy)
					e.Eq("proxy list after NO_PROXY", p.ProxyList, "")
				}
			},
		},
		{
			Name: "set/maximum-download-time",
			Docs: []string{"IBackgroundCopyJob4::SetMaximumDownloadTime", "IBackgroundCopyJob4::GetMaximumDownloadTime"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetMaximumDownloadTime(3600)", j.SetMaximumDownloadTime(3600), sOK)
				Get(e, "GetMaximumDownloadTime", j.GetMaximumDownloadTime, uint32(3600))
			},
		},
		{
			Name: "set/file-acl-flags",
			Docs: []string{"IBackgroundCopyJob3::SetFileACLFlags (E_INVALIDARG for an undefined flag)", "IBackgroundCopyJob3::GetFileACLFlags"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetFileACLFlags(ALL)", j.SetFileACLFlags(bits.CopyFileAll), sOK)
				Get(e, "GetFileACLFlags", j.GetFileACLFlags, bits.CopyFileAll)
				e.HR("SetFileACLFlags(0x10)", j.SetFileACLFlags(0x10), hresult.E_INVALIDARG)
				Get(e, "GetFileACLFlags after the refused flags", j.GetFileACLFlags, bits.CopyFileAll)
			},
		},
		{
			Name: "set/security-flags",
			Docs: []string{"IBackgroundCopyJobHttpOptions::SetSecurityFlags (E_NOTIMPL for a flag that is not supported)", "IBackgroundCopyJobHttpOptions::GetSecurityFlags"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				flags := bits.SSLIgnoreUnknownCA | bits.RedirectPolicyAllowReport
				e.HR("SetSecurityFlags", j.SetSecurityFlags(flags), sOK)
				if f, err := j.GetSecurityFlags(); e.HR("GetSecurityFlags", err, sOK) {
					e.Hex("GetSecurityFlags value", uint64(f), uint64(flags))
				}
				e.HR("SetSecurityFlags(0x1000)", j.SetSecurityFlags(0x1000), hresult.E_NOTIMPL)
			},
		},
		{
			Name: "set/custom-headers",
			Docs: []string{"IBackgroundCopyJobHttpOptions::SetCustomHeaders (NULL removes them; BG_E_STRING_TOO_LONG over 16,384 characters with the NUL)", "IBackgroundCopyJobHttpOptions::GetCustomHeaders"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				const h = "X-Scenario: one\r\nX-Other: two\r\n"
				e.HR("SetCustomHeaders", j.SetCustomHeaders(h), sOK)
				got, code, err := j.GetCustomHeaders()
				if e.Code("GetCustomHeaders", code, err, sOK) {
					e.Eq("headers", got, h)
				}
				long := "X-Long: " + strings.Repeat("v", 16384) + "\r\n"
				e.HR("SetCustomHeaders(over 16,384 characters)", j.SetCustomHeaders(long), hresult.BG_E_STRING_TOO_LONG)
				e.HR("SetCustomHeaders(NULL)", j.SetCustomHeaders(""), sOK)
				_, code, err = j.GetCustomHeaders()
				e.Code("GetCustomHeaders after NULL", code, err, hresult.S_FALSE)
			},
		},
		{
			Name: "set/http-method",
			Docs: []string{"IBackgroundCopyJobHttpOptions2::SetHttpMethod (the priority becomes FOREGROUND)", "IBackgroundCopyJobHttpOptions2::GetHttpMethod"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetHttpMethod(PUT)", j.SetHttpMethod("PUT"), sOK)
				Get(e, "GetHttpMethod", j.GetHttpMethod, "PUT")
				Get(e, "GetPriority", j.GetPriority, bits.Foreground)
			},
		},
		{
			Name: "set/notify-cmdline",
			Docs: []string{"IBackgroundCopyJob2::SetNotifyCmdLine", "IBackgroundCopyJob2::GetNotifyCmdLine", "decision: the program must be a full path (README, Semantics decisions)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				prog := e.Path("notify.exe")
				params := `"` + prog + `" done`
				e.HR("SetNotifyCmdLine", j.SetNotifyCmdLine(prog, params), sOK)
				if c, err := j.GetNotifyCmdLine(); e.HR("GetNotifyCmdLine", err, sOK) {
					e.True("program round-trips", c.Program == prog)
					e.True("parameters round-trip", c.Parameters == params)
				}
				e.HR("SetNotifyCmdLine(NULL, NULL)", j.SetNotifyCmdLine("", ""), sOK)
				Get(e, "GetNotifyCmdLine after removal", j.GetNotifyCmdLine, bits.NotifyCmdLine{})
				e.HR("SetNotifyCmdLine(program over MAX_PATH)", j.SetNotifyCmdLine(e.Path(strings.Repeat("p", 270)), ""), hresult.BG_E_STRING_TOO_LONG)
			},
		},
		{
			Name: "set/credentials",
			Docs: []string{"IBackgroundCopyJob2::SetCredentials (BG_E_INVALID_AUTH_TARGET, BG_E_INVALID_AUTH_SCHEME)", "IBackgroundCopyJob2::RemoveCredentials (S_FALSE when none were set)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetCredentials(BASIC)", j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: bits.SchemeBasic, UserName: "user", Password: "pw"}), sOK)
				code, err := j.RemoveCredentials(bits.TargetServer, bits.SchemeBasic)
				e.Code("RemoveCredentials", code, err, sOK)
				code, err = j.RemoveCredentials(bits.TargetServer, bits.SchemeBasic)
				e.Code("RemoveCredentials again", code, err, hresult.S_FALSE)
				e.HR("SetCredentials(target 3)", j.SetCredentials(bits.Credentials{Target: 3, Scheme: bits.SchemeBasic, UserName: "u", Password: "p"}), hresult.BG_E_INVALID_AUTH_TARGET)
				e.HR("SetCredentials(scheme 6)", j.SetCredentials(bits.Credentials{Target: bits.TargetServer, Scheme: 6, UserName: "u", Password: "p"}), hresult.BG_E_INVALID_AUTH_SCHEME)
			},
		},
		{
			Name: "ownership/take-own-job",
			Docs: []string{"IBackgroundCopyJob::TakeOwnership (administrators only, else E_ACCESSDENIED; removes the custom headers and the command line)", "IBackgroundCopyJob::GetOwner"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				before, err := j.GetOwner()
				e.HR("GetOwner", err, sOK)
				e.Must("SetCustomHeaders", j.SetCustomHeaders("X-Secret: 1\r\n"))
				if !e.Admin() {
					e.HR("TakeOwnership", j.TakeOwnership(), hresult.E_ACCESSDENIED)
					return
				}
				e.HR("TakeOwnership", j.TakeOwnership(), sOK)
				after, err := j.GetOwner()
				if e.HR("GetOwner after", err, sOK) {
					e.True("owner unchanged", after == before)
				}
				_, code, err := j.GetCustomHeaders()
				e.Code("GetCustomHeaders after TakeOwnership", code, err, hresult.S_FALSE)
			},
		},
		{
			Name: "manager/error-description",
			Docs: []string{"IBackgroundCopyManager::GetErrorDescription"},
			Run: func(e *Env) {
				s, err := e.M.GetErrorDescription(hresult.BG_E_EMPTY, 0x409)
				if e.HR("GetErrorDescription(BG_E_EMPTY, en-US)", err, sOK) {
					e.True("description is not empty", strings.TrimSpace(s) != "")
				}
			},
		},
	}
}

func propertyScenarios() []Scenario {
	return []Scenario{
		{
			Name: "property/defaults",
			Docs: []string{"IBackgroundCopyJob5::GetProperty", "BITS_JOB_PROPERTY_ID (MINIMUM_NOTIFICATION_INTERVAL_MS: 500 by default)", "decision: cost flags default to TRANSFER_POLICY_ALWAYS (README, Semantics decisions)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				if v, err := j.GetProperty(bits.PropertyMinimumNotificationIntervalMs); e.HR("GetProperty(MINIMUM_NOTIFICATION_INTERVAL_MS)", err, sOK) {
					e.Eq("MINIMUM_NOTIFICATION_INTERVAL_MS", v.Dword, 500)
				}
				if v, err := j.GetProperty(bits.PropertyDynamicContent); e.HR("GetProperty(DYNAMIC_CONTENT)", err, sOK) {
					e.Eq("DYNAMIC_CONTENT", v.Enable, false)
				}
				if v, err := j.GetProperty(bits.PropertyHighPerformance); e.HR("GetProperty(HIGH_PERFORMANCE)", err, sOK) {
					e.Eq("HIGH_PERFORMANCE", v.Enable, false)
				}
				if v, err := j.GetProperty(bits.PropertyCostFlags); e.HR("GetProperty(COST_FLAGS)", err, sOK) {
					e.Hex("COST_FLAGS", uint64(v.Dword), uint64(bits.TransferPolicyAlways))
				}
			},
		},
		{
			Name: "property/set-get",
			Docs: []string{"IBackgroundCopyJob5::SetProperty", "IBackgroundCopyJob5::GetProperty", "BITS_JOB_PROPERTY_ID"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetProperty(MINIMUM_NOTIFICATION_INTERVAL_MS, 1000)", j.SetProperty(bits.PropertyMinimumNotificationIntervalMs, bits.PropertyValue{Dword: 1000}), sOK)
				if v, err := j.GetProperty(bits.PropertyMinimumNotificationIntervalMs); e.HR("GetProperty(MINIMUM_NOTIFICATION_INTERVAL_MS)", err, sOK) {
					e.Eq("MINIMUM_NOTIFICATION_INTERVAL_MS", v.Dword, 1000)
				}
				e.HR("SetProperty(COST_FLAGS, STANDARD)", j.SetProperty(bits.PropertyCostFlags, bits.PropertyValue{Dword: bits.TransferPolicyStandard}), sOK)
				if v, err := j.GetProperty(bits.PropertyCostFlags); e.HR("GetProperty(COST_FLAGS)", err, sOK) {
					e.Hex("COST_FLAGS", uint64(v.Dword), uint64(bits.TransferPolicyStandard))
				}
				e.HR("SetProperty(MAX_DOWNLOAD_SIZE, 4096)", j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 4096}), sOK)
				if v, err := j.GetProperty(bits.PropertyMaxDownloadSize); e.HR("GetProperty(MAX_DOWNLOAD_SIZE)", err, sOK) {
					e.Eq("MAX_DOWNLOAD_SIZE", v.Uint64, 4096)
				}
			},
		},
		{
			Name: "property/invalid",
			Docs: []string{"IBackgroundCopyJob5::SetProperty", "BITS_JOB_PROPERTY_ID (MAX_DOWNLOAD_SIZE must be at least 1; USE_STORED_CREDENTIALS only for the proxy; HIGH_PERFORMANCE before the first file)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetProperty(MAX_DOWNLOAD_SIZE, 0)", j.SetProperty(bits.PropertyMaxDownloadSize, bits.PropertyValue{Uint64: 0}), hresult.BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE)
				e.HR("SetProperty(USE_STORED_CREDENTIALS, SERVER)", j.SetProperty(bits.PropertyUseStoredCredentials, bits.PropertyValue{Target: bits.TargetServer}), hresult.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED)
				_, err := j.GetProperty(bits.PropertyID(6))
				e.HR("GetProperty(6)", err, hresult.BG_E_UNKNOWN_PROPERTY_ID)
				e.Must("AddFile", j.AddFile(e.Serve("a.bin", []byte("a")), e.Path("a.bin")))
				e.HR("SetProperty(HIGH_PERFORMANCE) after AddFile", j.SetProperty(bits.PropertyHighPerformance, bits.PropertyValue{Enable: true}), hresult.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE)
			},
		},
	}
}
