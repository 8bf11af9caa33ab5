package projections

import (
	"strings"

	"github.com/hrss-ledger/ledger/domain"
)

// Events the views do not read (registrations, certifications, programs,
// ended placements, loan policies, and the events that record no business
// fact) are not decoded at all; the others are decoded by domain.DecodeWith,
// sharing repeated values through each worker's domain.Symbols.

// ignored lists the event types no view reads.
var ignored = map[string]bool{
	domain.TypeBeneficiaryRegistered: true,
	domain.TypeCategoryCertified:     true,
	domain.TypeProgramDefined:        true,
	domain.TypePlacementEnded:        true,
	domain.TypeLoanPolicySet:         true,
}

// notBusiness reports the event types that record no business fact
// (signed checkpoints, audited reads, the approval workflow around a
// command): no view reads them and they must not move the views' latest
// business date, which dates every view asked without as_of.
func notBusiness(eventType string) bool {
	return eventType == domain.TypeCheckpointRecorded || eventType == domain.TypeReadAudited ||
		strings.HasPrefix(eventType, approvalTypePrefix)
}

// approvalTypePrefix begins the wire names of the approval workflow's events.
const approvalTypePrefix = "approval."

// decodeRead decodes an event a view reads, nil for any other, sharing
// repeated values through syms (owned by the calling goroutine; nil shares
// nothing).
func decodeRead(eventType string, data []byte, syms *domain.Symbols) (domain.Event, error) {
	if !Reads(eventType) {
		return nil, nil
	}
	return domain.DecodeWith(eventType, data, syms)
}

// Reads reports whether a view reads events of a type: the ones whose
// decoding the views want from a read they share (replay.Feed.Join).
func Reads(eventType string) bool {
	return !ignored[eventType] && !notBusiness(eventType)
}
