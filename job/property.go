package job

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// PropertyID is a BITS_JOB_PROPERTY_ID value (IBackgroundCopyJob5).
type PropertyID uint32

// The BITS_JOB_PROPERTY_ID values (ne-bits5_0-bits_job_property_id). 6 and 8 are not defined.
const (
	PropertyCostFlags                     PropertyID = 1  // Dword: BITS_COST_STATE mask or transfer policy
	PropertyNotificationCLSID             PropertyID = 2  // ClsID: out-of-process callback class; persisted
	PropertyDynamicContent                PropertyID = 3  // Enable: servers without HEAD, length or ranges
	PropertyHighPerformance               PropertyID = 4  // Enable: no temporary file, no progress checkpoints
	PropertyMaxDownloadSize               PropertyID = 5  // Uint64: byte cap for the whole job
	PropertyUseStoredCredentials          PropertyID = 7  // Target: send stored credentials to the proxy
	PropertyMinimumNotificationIntervalMs PropertyID = 9  // Dword: JobModification throttle, 500 ms by default
	PropertyOnDemandMode                  PropertyID = 10 // Enable: random access (RequestFileRanges)
)

// String returns the BITS name without the BITS_JOB_PROPERTY_ prefix.
func (p PropertyID) String() string {
	for _, r := range Properties {
		if r.ID == p {
			return r.Name
		}
	}
	return fmt.Sprintf("BITS_JOB_PROPERTY_ID(%d)", uint32(p))
}

// PropertyValue is BITS_JOB_PROPERTY_VALUE: a union, of which each property uses one field.
type PropertyValue struct {
	Dword  uint32
	ClsID  uuid.UUID
	Enable bool
	Uint64 uint64
	Target AuthTarget
}

// Transfer policies and cost states for PropertyCostFlags.
const (
	CostStateUnrestricted        uint32 = 0x1
	CostStateCappedUsageUnknown  uint32 = 0x2
	CostStateBelowCap            uint32 = 0x4
	CostStateNearCap             uint32 = 0x8
	CostStateOvercapCharged      uint32 = 0x10
	CostStateOvercapThrottled    uint32 = 0x20
	CostStateUsageBased          uint32 = 0x40
	CostStateRoaming             uint32 = 0x80
	CostOptionIgnoreCongestion   uint32 = 0x80000000
	CostStateReserved            uint32 = 0x40000000
	TransferPolicyAlways         uint32 = 0x800000FF
	TransferPolicyNotRoaming     uint32 = 0x8000007F
	TransferPolicyNoSurcharge    uint32 = 0x8000006F
	TransferPolicyStandard       uint32 = 0x80000067
	TransferPolicyUnrestricted   uint32 = 0x80000021
	costMask                            = 0xFF | CostOptionIgnoreCongestion | CostStateReserved
	defaultCostFlags                    = TransferPolicyAlways
	defaultMinNotificationInterv        = DefaultNotifyIntervalMs
)

// PropertyRule states what SetProperty accepts for one property: the field it uses and when it
// may change. It is data, rendered into README's reference tables.
type PropertyRule struct {
	ID           PropertyID
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
	{ID: PropertyCostFlags, Name: "COST_FLAGS", Field: "Dword", Default: "0x800000FF (TRANSFER_POLICY_ALWAYS)",
		Note: "E_INVALIDARG for bits outside the cost states and options"},
	{ID: PropertyNotificationCLSID, Name: "NOTIFICATION_CLSID", Field: "ClsID", Default: "GUID_NULL",
		Note: "GUID_NULL clears it; kept with the job"},
	{ID: PropertyDynamicContent, Name: "DYNAMIC_CONTENT", Field: "Enable", Default: "false", DownloadOnly: true, BeforeResume: true,
		Note: "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD with a custom verb; BG_E_UNSUPPORTED_JOB_CONFIGURATION with ranged files or on-demand mode"},
	{ID: PropertyHighPerformance, Name: "HIGH_PERFORMANCE", Field: "Enable", Default: "false", DownloadOnly: true, BeforeFiles: true},
	{ID: PropertyMaxDownloadSize, Name: "MAX_DOWNLOAD_SIZE", Field: "Uint64", Default: "0 (no cap)", DownloadOnly: true, BeforeResume: true,
		Note: "BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE for 0"},
	{ID: PropertyUseStoredCredentials, Name: "USE_STORED_CREDENTIALS", Field: "Target", Default: "0 (none)",
		Note: "only TargetProxy, else BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED"},
	{ID: PropertyMinimumNotificationIntervalMs, Name: "MINIMUM_NOTIFICATION_INTERVAL_MS", Field: "Dword", Default: "500"},
	{ID: PropertyOnDemandMode, Name: "ON_DEMAND_MODE", Field: "Enable", Default: "false", DownloadOnly: true, BeforeResume: true,
		Note: "BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD with a custom verb; BG_E_UNSUPPORTED_JOB_CONFIGURATION with dynamic content or ranged files"},
}

func propertyRule(id PropertyID) *PropertyRule {
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
	storedCreds     AuthTarget
	minInterval     uint32
	onDemand        bool
}

func (p *props) init() {
	p.costFlags = defaultCostFlags
	p.minInterval = defaultMinNotificationInterv
}

// SetProperty sets a job property (IBackgroundCopyJob5::SetProperty). The checks, in order:
// BG_E_UNKNOWN_PROPERTY_ID for an undefined id; the value (see Properties); BG_E_INVALID_STATE for
// a final job; BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY; BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE
// and BG_E_READ_ONLY_PROPERTY_AFTER_RESUME; then the combination rules.
func (j *Job) SetProperty(id PropertyID, v PropertyValue) error {
	rule := propertyRule(id)
	arg := hresult.S_OK
	switch {
	case rule == nil:
		arg = hresult.BG_E_UNKNOWN_PROPERTY_ID
	case id == PropertyCostFlags && v.Dword&^costMask != 0:
		arg = hresult.E_INVALIDARG
	case id == PropertyMaxDownloadSize && v.Uint64 == 0:
		arg = hresult.BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE
	case id == PropertyUseStoredCredentials && v.Target != TargetProxy:
		arg = hresult.BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED
	}
	return j.set(state.SetProperty, "SetProperty", arg, func() hresult.Code {
		c := j.c
		switch {
		case rule.DownloadOnly && c.typ != Download:
			return hresult.BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY
		case rule.BeforeFiles && len(c.files) > 0:
			return hresult.BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE
		case rule.BeforeResume && c.resumed:
			return hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME
		}
		p := &c.props
		switch id {
		case PropertyCostFlags:
			p.costFlags = v.Dword
		case PropertyNotificationCLSID:
			p.clsid = v.ClsID
		case PropertyDynamicContent:
			if v.Enable {
				if c.customMethod() {
					return hresult.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD
				}
				if p.onDemand || c.hasRanges() {
					return hresult.BG_E_UNSUPPORTED_JOB_CONFIGURATION
				}
			}
			p.dynamicContent = v.Enable
		case PropertyHighPerformance:
			p.highPerformance = v.Enable
		case PropertyMaxDownloadSize:
			p.maxDownloadSize = v.Uint64
		case PropertyUseStoredCredentials:
			p.storedCreds = v.Target
		case PropertyMinimumNotificationIntervalMs:
			p.minInterval = v.Dword
		case PropertyOnDemandMode:
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
func (j *Job) GetProperty(id PropertyID) (PropertyValue, error) {
	o, err := j.begin(state.GetProperty, "GetProperty")
	if err != nil {
		return PropertyValue{}, err
	}
	defer o.end()
	p := &j.c.props
	switch id {
	case PropertyCostFlags:
		return PropertyValue{Dword: p.costFlags}, nil
	case PropertyNotificationCLSID:
		return PropertyValue{ClsID: p.clsid}, nil
	case PropertyDynamicContent:
		return PropertyValue{Enable: p.dynamicContent}, nil
	case PropertyHighPerformance:
		return PropertyValue{Enable: p.highPerformance}, nil
	case PropertyMaxDownloadSize:
		return PropertyValue{Uint64: p.maxDownloadSize}, nil
	case PropertyUseStoredCredentials:
		return PropertyValue{Target: p.storedCreds}, nil
	case PropertyMinimumNotificationIntervalMs:
		return PropertyValue{Dword: p.minInterval}, nil
	case PropertyOnDemandMode:
		return PropertyValue{Enable: p.onDemand}, nil
	}
	return PropertyValue{}, o.fail(hresult.BG_E_UNKNOWN_PROPERTY_ID)
}
