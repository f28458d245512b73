// Package badgerfmt is everything vkv knows about Badger's files and size
// rules that Badger does not export: the layout of the MANIFEST, which table
// and log files Badger opens and how it fails on them, how a transaction
// counts its entries against its limits, and the text of the one error vkv
// has to recognise.
//
// Each fact is a named constant or a function here, with the Badger source
// file and line it was read from, all in the version CheckedVersion. The
// tests of this package make Badger itself show each fact (a transaction
// refused with ErrTxnTooBig at the predicted byte, a directory Badger wrote
// and then damaged, a directory opened twice) and fail when the Badger
// version in go.mod is no longer CheckedVersion: then re-read every cited
// line in the new version, correct what changed, and raise CheckedVersion.
//
// Paths cited as file:line are relative to the module
// github.com/dgraph-io/badger/v4 at CheckedVersion unless they name another
// module.
package badgerfmt

// CheckedVersion is the version of github.com/dgraph-io/badger/v4 whose
// sources every fact of this package was read from.
const CheckedVersion = "v4.9.6"
