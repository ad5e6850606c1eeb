package pkgdoc

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPackageDocs(t *testing.T) {
	root := moduleRoot(t)
	pkgs := packageDirs(t, root)
	if len(pkgs) == 0 {
		t.Fatalf("found no Go package under %s", root)
	}
	var bad []string
	for _, dir := range pkgs {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		problem := checkDir(t, dir)
		if problem != "" {
			bad = append(bad, rel+": "+problem)
		}
	}
	if len(bad) > 0 {
		t.Errorf("packages without a proper doc comment (want \"// Package <name> ...\", or \"// Command ...\" for main):\n\t%s",
			strings.Join(bad, "\n\t"))
	}
}

func TestDocProblem(t *testing.T) {
	tests := []struct {
		name, pkg, doc string
		ok             bool
	}{
		{name: "library", pkg: "token", doc: "Package token defines tokens.\n", ok: true},
		{name: "library missing", pkg: "token", doc: "", ok: false},
		{name: "library wrong name", pkg: "token", doc: "Package tokens defines tokens.\n", ok: false},
		{name: "library name only", pkg: "token", doc: "Package token\n", ok: false},
		{name: "library no package word", pkg: "token", doc: "Token defines tokens.\n", ok: false},
		{name: "main command", pkg: "main", doc: "Command smd serves media.\n", ok: true},
		{name: "main program name", pkg: "main", doc: "Smd serves media.\n", ok: true},
		{name: "main package main", pkg: "main", doc: "Package main runs smd.\n", ok: false},
		{name: "main missing", pkg: "main", doc: "", ok: false},
		{name: "main other", pkg: "main", doc: "This program serves media.\n", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := docProblem(tc.pkg, tc.doc)
			if (got == "") != tc.ok {
				t.Errorf("docProblem(%q, %q) = %q; want ok=%v", tc.pkg, tc.doc, got, tc.ok)
			}
		})
	}
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod found above the working directory")
		}
		dir = parent
	}
}

// packageDirs returns the directories under root that hold non-test Go
// files, skipping testdata, hidden and underscore directories, and nested
// modules.
func packageDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == root {
				return nil
			}
			if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if isSourceFile(name) {
			if dir := filepath.Dir(path); !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func isSourceFile(name string) bool {
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") &&
		!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// checkDir parses the non-test Go files of dir and returns what is wrong
// with the package doc, or "".
func checkDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var pkg string
	var docs []string
	for _, e := range entries {
		if e.IsDir() || !isSourceFile(e.Name()) {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("parse: %v", err)
			continue
		}
		if ignoredByBuild(f) {
			continue
		}
		if pkg == "" {
			pkg = f.Name.Name
		}
		if f.Doc != nil {
			docs = append(docs, f.Doc.Text())
		}
	}
	if pkg == "" {
		return ""
	}
	if len(docs) == 0 {
		return docProblem(pkg, "")
	}
	for _, doc := range docs {
		if problem := docProblem(pkg, doc); problem != "" {
			return problem
		}
	}
	return ""
}

// ignoredByBuild reports whether f carries a "//go:build ignore" constraint,
// as generators do; such files are not part of the package.
func ignoredByBuild(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			if c.Text == "//go:build ignore" {
				return true
			}
		}
	}
	return false
}

// docProblem returns what is wrong with doc as the package doc of a package
// named pkg, or "".
func docProblem(pkg, doc string) string {
	if strings.TrimSpace(doc) == "" {
		return "no package doc comment"
	}
	if pkg == "main" {
		for _, prefix := range []string{"Command ", "Smd "} {
			if strings.HasPrefix(doc, prefix) {
				return ""
			}
		}
		return "doc of a command does not start with \"Command \" or \"Smd \""
	}
	if !strings.HasPrefix(doc, "Package "+pkg+" ") {
		return "doc does not start with \"Package " + pkg + " \""
	}
	return ""
}
