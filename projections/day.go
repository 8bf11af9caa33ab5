package projections

import (
	"fmt"

	"github.com/hrss-ledger/ledger/domain"
)

// day is a business date as a count of days since 1970-01-01, so that the
// views can index figures by date with integer comparisons.
type day int32

// Bounds of the day axis: before any event and after every event.
const (
	minDay day = -1 << 30
	maxDay day = 1<<30 - 1
)

// dayOf converts a civil date; the zero Date (no date) is minDay.
func dayOf(d domain.Date) day {
	if d.IsZero() {
		return minDay
	}
	return civilToDay(d.Year(), d.Month(), d.Day())
}

// civilToDay is Howard Hinnant's days_from_civil.
func civilToDay(y, m, d int) day {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return day(era*146097 + doe - 719468)
}

// civil is Howard Hinnant's civil_from_days.
func (d day) civil() (y, m, dd int) {
	z := int(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, dd
}

// year returns the calendar year of the day.
func (d day) year() int {
	y, _, _ := d.civil()
	return y
}

// String formats the day as YYYY-MM-DD ("" for the open bounds).
func (d day) String() string {
	if d == minDay || d == maxDay {
		return ""
	}
	y, m, dd := d.civil()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

// yearStart and yearEnd bound a calendar year.
func yearStart(y int) day { return civilToDay(y, 1, 1) }
func yearEnd(y int) day   { return civilToDay(y, 12, 31) }

// parseDay parses YYYY-MM-DD through the domain's strict parser.
func parseDay(s string) (day, error) {
	d, err := domain.ParseDate(s)
	if err != nil {
		return 0, fmt.Errorf("projections: date %q: %w", s, err)
	}
	return dayOf(d), nil
}
