package js

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"strings"
	"testing"
)

// sizeBudget is the largest allowed minified, gzipped (level 9) drop-in bundle, in bytes.
const sizeBudget = 6 << 10

func gzipSize(t *testing.T, data []byte) int {
	t.Helper()
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Len()
}

// TestBundleSize measures the bundles as served and holds the drop-in one to the budget.
func TestBundleSize(t *testing.T) {
	for _, name := range []string{"polysock.js", "polysock.mjs"} {
		data, err := fs.ReadFile(Dist, name)
		if err != nil {
			t.Fatal(err)
		}
		gz := gzipSize(t, data)
		t.Logf("%s: %d bytes minified, %d bytes gzipped (level 9), budget %d", name, len(data), gz, sizeBudget)
		if name == "polysock.js" && gz > sizeBudget {
			t.Errorf("%s is %d bytes gzipped, over the %d-byte budget", name, gz, sizeBudget)
		}
	}
}

// TestBundleFiles checks that every file the server serves is embedded and well formed.
func TestBundleFiles(t *testing.T) {
	want := map[string]string{
		"polysock.js":      "PolySock",
		"polysock.mjs":     "export{",
		"polysock.js.map":  `"sourcesContent"`,
		"polysock.mjs.map": `"sourcesContent"`,
		"polysock.d.ts":    "export declare class PolySock extends EventTarget",
	}
	for name, marker := range want {
		data, err := fs.ReadFile(Dist, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.Contains(string(data), marker) {
			t.Errorf("%s does not contain %q", name, marker)
		}
	}
	// The declarations stand alone: they import nothing from the sources.
	dts, _ := fs.ReadFile(Dist, "polysock.d.ts")
	if strings.Contains(string(dts), "import ") {
		t.Errorf("polysock.d.ts imports other files:\n%s", dts)
	}
}
