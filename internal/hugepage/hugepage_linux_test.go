package hugepage

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

func TestMake(t *testing.T) {
	before, err := anonHugeKB()
	if err != nil {
		t.Fatal(err)
	}
	const n = 3 * Size / 8
	s := Make[uint64](n, n+5)
	if len(s) != n || cap(s) != n+5 {
		t.Fatalf("len %d cap %d, want %d and %d", len(s), cap(s), n, n+5)
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	if addr%Size != 0 {
		t.Fatalf("a large slice starts at %#x, not on a huge page", addr)
	}
	for i := range s {
		if s[i] != 0 {
			t.Fatalf("s[%d] = %d, want a zeroed slice", i, s[i])
		}
		s[i] = uint64(i)
	}
	if small := Make[uint32](10, 100); len(small) != 10 || cap(small) != 100 {
		t.Fatalf("a small slice: len %d cap %d", len(small), cap(small))
	}

	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Logf("transparent huge pages are off here (%q, %v): only the placement is checked", mode, err)
		return
	}
	after, err := anonHugeKB()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := after-before, 3*Size>>10; got < want {
		t.Errorf("filling the slice added %d kB of huge pages to the process, want its %d kB", got, want)
	}
}

// anonHugeKB is the AnonHugePages of this process, in kB.
func anonHugeKB() (int, error) {
	raw, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(l, "AnonHugePages:"); ok {
			var kb int
			_, err := fmt.Sscanf(rest, "%d", &kb)
			return kb, err
		}
	}
	return 0, fmt.Errorf("no AnonHugePages in /proc/self/smaps_rollup")
}
