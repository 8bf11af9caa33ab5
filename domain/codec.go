package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// decoders maps each wire name to a decoder of that event. It is the one
// explicit table of the codec: adding an event means adding a line here.
var decoders = map[string]func([]byte) (Event, error){
	TypeRegionDefined:         decodeAs[RegionDefined],
	TypeFundOpened:            decodeAs[FundOpened],
	TypeFundAllocated:         decodeAs[FundAllocated],
	TypeBeneficiaryRegistered: decodeAs[BeneficiaryRegistered],
	TypeCategoryCertified:     decodeAs[CategoryCertified],
	TypeProgramDefined:        decodeAs[ProgramDefined],
	TypeSubsidyPaid:           decodeAs[SubsidyPaid],
	TypeSubsidyReversed:       decodeAs[SubsidyReversed],
	TypeLoanIssued:            decodeAs[LoanIssued],
	TypeLoanRepaid:            decodeAs[LoanRepaid],
	TypeInterestSubsidyPaid:   decodeAs[InterestSubsidyPaid],
	TypeLoanDefaulted:         decodeAs[LoanDefaulted],
	TypeLoanCompensated:       decodeAs[LoanCompensated],
	TypeLoanRecovered:         decodeAs[LoanRecovered],
	TypeLoanWrittenOff:        decodeAs[LoanWrittenOff],
	TypeLoanClosed:            decodeAs[LoanClosed],
	TypePlacementRecorded:     decodeAs[PlacementRecorded],
	TypePlacementEnded:        decodeAs[PlacementEnded],
	TypePlacementReversed:     decodeAs[PlacementReversed],
	TypeTrainingRecorded:      decodeAs[TrainingRecorded],
	TypeTargetSet:             decodeAs[TargetSet],
	TypeStatisticReported:     decodeAs[StatisticReported],
	TypeLoanPolicySet:         decodeAs[LoanPolicySet],
	TypeCheckpointRecorded:    decodeAs[CheckpointRecorded],
	TypeApprovalRequested:     decodeAs[ApprovalRequested],
	TypeApprovalGranted:       decodeAs[ApprovalGranted],
	TypeApprovalRejected:      decodeAs[ApprovalRejected],
	TypeReadAudited:           decodeAs[ReadAudited],
}

// EventTypes returns every wire name the codec knows, for documentation and
// for checks that a log holds only known events.
func EventTypes() []string {
	types := make([]string, 0, len(decoders))
	for t := range decoders {
		types = append(types, t)
	}
	return types
}

// Encode returns an event's wire name and JSON body.
func Encode(e Event) (eventType string, data []byte, err error) {
	if e == nil {
		return "", nil, fmt.Errorf("domain: encode: nil event")
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", nil, fmt.Errorf("domain: encode %s: %w", e.EventType(), err)
	}
	return e.EventType(), data, nil
}

// Decode rebuilds an event from its wire name and JSON body. Unknown wire
// names and unknown fields are errors: a log must hold only what this code
// wrote. It is DecodeWith sharing nothing between events.
func Decode(eventType string, data []byte) (Event, error) {
	return DecodeWith(eventType, data, nil)
}

// DecodeWith is Decode sharing repeated values through syms (owned by the
// calling goroutine; nil shares nothing). The bulk events in the form
// Encode writes them take a fast path (fastDecoders) that returns exactly
// what encoding/json would.
func DecodeWith(eventType string, data []byte, syms *Symbols) (Event, error) {
	if fast, ok := fastDecoders[eventType]; ok {
		if e, ok := fast(data, syms); ok {
			return e, nil
		}
	}
	decode, ok := decoders[eventType]
	if !ok {
		return nil, fmt.Errorf("domain: decode: unknown event type %q", eventType)
	}
	e, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("domain: decode %s: %w", eventType, err)
	}
	return e, nil
}

// decodeAs decodes strictly into the event type T.
func decodeAs[T Event](data []byte) (Event, error) {
	var e T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the event")
	}
	return e, nil
}
