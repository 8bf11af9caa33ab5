package projections

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestCatchUpMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Run("the catch-up's limit follows the live heap and is lifted at the end", func(t *testing.T) {
		debug.SetMemoryLimit(math.MaxInt64)
		restore := relaxGC()
		// Live memory beyond the limit set at the start, as views that
		// outgrow it.
		ballast := make([]byte, catchUpMemoryFloor*100/catchUpRaisedPercent+64<<20)
		for i := range ballast {
			ballast[i] = 1
		}
		runtime.GC()
		raiseGCLimit()
		got := debug.SetMemoryLimit(-1)
		if want := int64(len(ballast) * catchUpRaisedPercent / 100); got < want {
			t.Errorf("got a limit of %d bytes with %d live, want at least %d", got, len(ballast), want)
		}
		runtime.KeepAlive(ballast)
		restore()
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Errorf("got a limit of %d after the catch-up, want none", got)
		}
	})
	t.Run("an operator's limit stays as it is", func(t *testing.T) {
		const operator = 1 << 40
		debug.SetMemoryLimit(operator)
		restore := relaxGC()
		raiseGCLimit()
		if got := debug.SetMemoryLimit(-1); got != operator {
			t.Errorf("got a limit of %d during a catch-up, want the operator's %d", got, operator)
		}
		restore()
		if got := debug.SetMemoryLimit(-1); got != operator {
			t.Errorf("got a limit of %d after a catch-up, want the operator's %d", got, operator)
		}
	})
}
