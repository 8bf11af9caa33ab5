package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Lengths of the national identifiers.
const (
	idNumberLength   = 18 // GB 11643 resident ID number
	creditCodeLength = 18 // GB 32100 unified social credit code
	maxEntityIDBytes = 64 // ledger ids: fund, program, loan, payment, placement, training
)

// idNumberWeights are the GB 11643 (ISO 7064 MOD 11-2) weights of the first 17 digits.
var idNumberWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idNumberCheck maps the weighted sum mod 11 to the check character.
const idNumberCheck = "10X98765432"

// NormalizeIDNumber trims spaces and upper-cases a trailing x, the forms in
// which people write their ID number.
func NormalizeIDNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ValidateIDNumber checks an 18-character resident ID number (公民身份号码,
// GB 11643): 17 digits, a plausible birth date in positions 7–14, and the
// MOD 11-2 check character. Lower-case x is accepted (see NormalizeIDNumber).
func ValidateIDNumber(s string) error {
	s = NormalizeIDNumber(s)
	if len(s) != idNumberLength || !allDigits(s[:17]) {
		return fail(ErrIDNumber, "id_number", "18 characters, the first 17 digits")
	}
	if s[0] == '0' || s[0] == '9' {
		return fail(ErrIDNumber, "id_number", "no province has that first digit")
	}
	if _, err := ParseDate(s[6:10] + "-" + s[10:12] + "-" + s[12:14]); err != nil {
		return fail(ErrIDNumber, "id_number", "birth date %s is not a date", s[6:14])
	}
	if s[17] != idNumberCheckChar(s[:17]) {
		return fail(ErrIDNumber, "id_number", "check character does not match")
	}
	return nil
}

// idNumberCheckChar computes the GB 11643 check character of 17 digits.
func idNumberCheckChar(first17 string) byte {
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * idNumberWeights[i]
	}
	return idNumberCheck[sum%11]
}

// creditCodeAlphabet is the GB 32100 character set (no I, O, Z, S, V); a
// character's value is its index.
const creditCodeAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditCodeWeights are the GB 32100 weights of the first 17 characters (3^i mod 31).
var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ValidateCreditCode checks an 18-character unified social credit code
// (统一社会信用代码, GB 32100): the character set, a 6-digit region code in
// positions 3–8, and the MOD 31 check character.
func ValidateCreditCode(s string) error {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != creditCodeLength {
		return fail(ErrCreditCode, "credit_code", "18 characters")
	}
	if !allDigits(s[2:8]) {
		return fail(ErrCreditCode, "credit_code", "positions 3 to 8 are a region code")
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(creditCodeAlphabet, s[i])
		if v < 0 {
			return fail(ErrCreditCode, "credit_code", "character %q is not allowed", s[i])
		}
		sum += v * creditCodeWeights[i]
	}
	if s[17] != creditCodeAlphabet[(31-sum%31)%31] {
		return fail(ErrCreditCode, "credit_code", "check character does not match")
	}
	return nil
}

// ValidateRegionCode checks the format of an administrative division code
// (GB/T 2260): 6 digits for province, city and county, 9 for a town, 12 for a village.
func ValidateRegionCode(code string) error {
	switch len(code) {
	case 6, 9, 12:
		if allDigits(code) {
			return nil
		}
	}
	return fail(ErrRegionCodeFormat, "region_code", "%q", code)
}

// Pseudonym returns the beneficiary id of a person or enterprise: the hex
// HMAC-SHA256 of the normalized ID number (or credit code) under key. The same
// number always gets the same id, and without the key the id reveals nothing.
// The key is held outside the log; the domain never sees it on the write path.
func Pseudonym(key []byte, idNumber string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(NormalizeIDNumber(idNumber)))
	return hex.EncodeToString(mac.Sum(nil))
}

// checkID refuses an empty or malformed ledger id. Ids are restricted to
// ASCII letters, digits, '-' and '_' because they become parts of stream
// names and account names ("loan-ID", "fund:ID").
func checkID(field, id string) *Error {
	if id == "" {
		return fail(ErrRequired, field, "")
	}
	if len(id) > maxEntityIDBytes {
		return fail(ErrTooLong, field, "at most %d bytes", maxEntityIDBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return fail(ErrBadID, field, "%q", id)
		}
	}
	return nil
}
