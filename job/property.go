package job

import (
	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

const (
	costMask                     = 0xFF | bits.CostOptionIgnoreCongestion | bits.CostStateReserved
	defaultCostFlags             = bits.TransferPolicyAlways
	defaultMinNotificationInterv = DefaultNotifyIntervalMs
)

// PropertyRule states what SetProperty accepts for one property: the field it uses and when it
// may change. It is data, rendered into README's reference tables.
type PropertyRule struct {
	ID           bits.PropertyID
	Name         string
	Field        string // the PropertyValue field the property uses
	Default      string
	DownloadOnly bool // BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY for other types
	BeforeFiles  bool // BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE once the job has a file
	BeforeResume bool // BG_E_READ_ONLY_PROPERTY_AFTER_RESUME once the job has been resumed
	Note         string
}

// Properties lists every job property bitsemu knows, in id order.
var Properties = []PropertyRule{
	{ID: bits.PropertyCostFlags, Name: "COST_FLAGS", Field: "Dword", Default: "0x800000FF (TRANSFER_POLICY_ALWAYS)",
		Note: "E_INVALIDARG for bits outside the cost states and options"},
	{ID: bits.PropertyNotificationCLSID, Name: "NOTIFICATION_CLSID", Field: "ClsID", Default: "GUID_NULL",
		Note: "GUID_NULL clears it; kept with the job"},
	{ID: bits.PropertyDynamicContent, Name: "DYNAMIC_CONTENT", Field: "Enable", Default: "false", DownloadOnly: true, BeforeResume: true,
		Note: "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD with a custom verb; BG_E_UNSUPPORTED_JOB_CONFIGURATION with ranged files or on-demand mode"},
	{ID: bits.PropertyHighPerformance, Name: "HIGH_PERFORMANCE", Field: "Enable", Default: "false", DownloadOnly: true, BeforeFiles: true},
	{ID: bits.PropertyMaxDownloadSize, Name: "MAX_DOWNLOAD_SIZE", Field: "Uint64", Default: "0 (no cap)", DownloadOnly: true, BeforeResume: true,
		Note: "BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE for 0"},
	{ID: bits.PropertyUseStoredCredentials, Name: "USE_STORED_CREDENTIALS", Field: "Target", Default: "0 (none)",
		Note: "only TargetProxy, else BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED"},
	{ID: bits.PropertyMinimumNotificationIntervalMs, Name: "MINIMUM_NOTIFICATION_INTERVAL_MS", Field: "Dword", Default: "500"},
	{ID: bits.PropertyOnDemandMode, Name: "ON_DEMAND_MODE", Field: "Enable", Default: "false", DownloadOnly: true, BeforeResume: true,
		Note: "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD with a custom verb; BG_E_UNSUPPORTED_JOB_CONFIGURATION with dynamic content or ranged files"},
}

func propertyRule(id bits.PropertyID) *PropertyRule {
	for i := range Properties {
		if Properties[i].ID == id {
			return &Properties[i]
		}
	}
	return nil
}

type props struct {
	costFlags       uint32
	clsid           uuid.UUID
	dynamicContent  bool
	highPerformance bool
	maxDownloadSize uint64
	storedCreds     bits.AuthTarget
	minInterval     uint32
	onDemand        bool
}

// SetProperty sets a job property (IBackgroundCopyJob5::SetProperty). The checks, in order:
// BG_E_UNKNOWN_PROPERTY_ID for an undefined id; the value (see Properties); BG_E_INVALID_STATE for
// a final job; BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY; BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE
// and BG_E_READ_ONLY_PROPERTY_AFTER_RESUME; then the combination rules.
func (j *Job) SetProperty(id bits.PropertyID, v bits.PropertyValue) error {
	rule := propertyRule(id)
	arg := hresult.S_OK
	switch {
	case rule == nil:
		arg = hresult.BG_E_UNKNOWN_PROPERTY_ID
	case id == bits.PropertyCostFlags && v.Dword&^costMask != 0:
		arg = hresult.E_INVALIDARG
	case id == bits.PropertyMaxDownloadSize && v.Uint64 == 0:
		arg = hresult.BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE
	case id == bits.PropertyUseStoredCredentials && v.Target != bits.TargetProxy:
		arg = hresult.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED
	}
	return j.set(state.SetProperty, "SetProperty", arg, func() hresult.Code {
		c := j.c
		switch {
		case rule.DownloadOnly && c.typ != bits.Download:
			return hresult.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY
		case rule.BeforeFiles && len(c.files) > 0:
			return hresult.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE
		case rule.BeforeResume && c.resumed:
			return hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME
		}
		p := &c.own().props
		switch id {
		case bits.PropertyCostFlags:
			p.costFlags = v.Dword
		case bits.PropertyNotificationCLSID:
			p.clsid = v.ClsID
		case bits.PropertyDynamicContent:
			if v.Enable {
				if c.customMethod() {
					return hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
				}
				if p.onDemand || c.hasRanges() {
					return hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION
				}
			}
			p.dynamicContent = v.Enable
		case bits.PropertyHighPerformance:
			p.highPerformance = v.Enable
		case bits.PropertyMaxDownloadSize:
			p.maxDownloadSize = v.Uint64
		case bits.PropertyUseStoredCredentials:
			p.storedCreds = v.Target
		case bits.PropertyMinimumNotificationIntervalMs:
			p.minInterval = v.Dword
		case bits.PropertyOnDemandMode:
			if v.Enable {
				if c.customMethod() {
					return hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
				}
				if p.dynamicContent || c.hasRanges() {
					return hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION
				}
			}
			p.onDemand = v.Enable
		}
		return hresult.S_OK
	})
}

func (c *core) hasRanges() bool {
	for _, f := range c.files {
		if len(f.ranges) > 0 {
			return true
		}
	}
	return false
}

// GetProperty returns a job property (IBackgroundCopyJob5::GetProperty), in the field the
// property uses. BG_E_UNKNOWN_PROPERTY_ID for an undefined id.
func (j *Job) GetProperty(id bits.PropertyID) (bits.PropertyValue, error) {
	var o op
	if err := j.begin(&o, state.GetProperty, "GetProperty"); err != nil {
		return bits.PropertyValue{}, err
	}
	defer o.end()
	p := &j.c.props
	switch id {
	case bits.PropertyCostFlags:
		return bits.PropertyValue{Dword: p.costFlags}, nil
	case bits.PropertyNotificationCLSID:
		return bits.PropertyValue{ClsID: p.clsid}, nil
	case bits.PropertyDynamicContent:
		return bits.PropertyValue{Enable: p.dynamicContent}, nil
	case bits.PropertyHighPerformance:
		return bits.PropertyValue{Enable: p.highPerformance}, nil
	case bits.PropertyMaxDownloadSize:
		return bits.PropertyValue{Uint64: p.maxDownloadSize}, nil
	case bits.PropertyUseStoredCredentials:
		return bits.PropertyValue{Target: p.storedCreds}, nil
	case bits.PropertyMinimumNotificationIntervalMs:
		return bits.PropertyValue{Dword: p.minInterval}, nil
	case bits.PropertyOnDemandMode:
		return bits.PropertyValue{Enable: p.onDemand}, nil
	}
	return bits.PropertyValue{}, o.fail(hresult.BG_E_UNKNOWN_PROPERTY_ID)
}
