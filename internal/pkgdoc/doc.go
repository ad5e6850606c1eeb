// Package pkgdoc holds only a test: it fails when a package of the module
// lacks a package doc comment, or has one that does not open with
// "Package <name> " ("Command " for a main package), so that every package
// states its contract where go doc shows it.
package pkgdoc
