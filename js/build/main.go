package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	out := flag.String("out", "", "output directory (default: js/dist of the module)")
	analyze := flag.Bool("analyze", false, "print the bytes each source file contributes to each bundle")
	flag.Parse()
	if err := run(*out, *analyze); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run(out string, analyze bool) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	js := filepath.Join(root, "js")
	if out == "" {
		out = filepath.Join(js, "dist")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("failed to create %s: %w", out, err)
	}
	for _, b := range []struct {
		entry, file string
		format      api.Format
	}{
		{"global.ts", "polysock.js", api.FormatIIFE},
		{"index.ts", "polysock.mjs", api.FormatESModule},
	} {
		res := api.Build(api.BuildOptions{
			AbsWorkingDir: js,
			EntryPoints:   []string{filepath.Join(js, "src", b.entry)},
			// Paths in the output (source map sources) are relative to js/dist whatever
			// the -out directory, so every build of the same sources is identical.
			Outfile:           filepath.Join(js, "dist", b.file),
			Bundle:            true,
			Format:            b.format,
			Platform:          api.PlatformBrowser,
			Target:            api.ES2021,
			MinifyWhitespace:  true,
			MinifyIdentifiers: true,
			MinifySyntax:      true,
			MangleProps:       "^_[a-z]",
			Charset:           api.CharsetUTF8,
			LegalComments:     api.LegalCommentsNone,
			Sourcemap:         api.SourceMapExternal,
			SourcesContent:    api.SourcesContentInclude,
			// Not the root tsconfig.json: its "strict" would add a "use strict" prologue
			// to the IIFE (the code relies on no sloppy-mode difference: classes are strict
			// anyway). Class fields keep the assignment semantics tsc gives them there.
			TsconfigRaw: `{"compilerOptions":{"useDefineForClassFields":false,"verbatimModuleSyntax":true}}`,
			LogLevel:    api.LogLevelWarning,
			Write:       false,
			Metafile:    analyze,
		})
		if len(res.Errors) > 0 {
			return fmt.Errorf("failed to bundle %s: %s", b.entry, res.Errors[0].Text)
		}
		if analyze {
			fmt.Println(api.AnalyzeMetafile(res.Metafile, api.AnalyzeMetafileOptions{}))
		}
		for _, f := range res.OutputFiles {
			dst := filepath.Join(out, filepath.Base(f.Path))
			if err := os.WriteFile(dst, f.Contents, 0o644); err != nil {
				return fmt.Errorf("failed to write %s: %w", dst, err)
			}
		}
	}
	return nil
}

// moduleRoot finds the directory of go.mod above the working directory, so that the
// command works from the module root (go run ./js/build) and from js (go generate).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("failed to find the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("failed to find the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
