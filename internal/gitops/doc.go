// Package gitops keeps a local clone of one fabric's repository branch in
// sync with its remote and pushes commits back, using go-git.
//
// A Client owns one clone directory. Sync makes it an exact copy of the
// remote branch head (cloning, fetching and checking out as needed, and
// re-cloning when the local clone is unusable), Commit records the changes
// under a subdirectory, Push publishes them without ever overwriting anything
// on the remote, FindTrailer finds a commit that already landed, so that a
// re-run job makes no second commit, and Discard throws away what a failed
// job left in the clone. CommitPaths is Commit for a caller that knows which
// paths it wrote or removed: it stages those and looks at nothing else.
//
// It knows nothing of queues, HTTP, Redis or the ingest package: retry
// policy, job state and logging belong to the callers. Callers branch on the
// sentinel errors (ErrAuth, ErrRemoteNotFound, ErrBranchNotFound,
// ErrPushRejected, ErrInvalidConfig, ErrBadPath, ErrFileTooLarge,
// ErrRepoTooLarge, and ErrPassphrase and ErrKeyType of a signing key) with
// errors.Is, on *TreeError and *KeyError with errors.As, and on IsPermanent; no go-git type
// or error crosses this package's boundary, and no error or returned value
// ever holds a credential.
//
// # One repository, many fabrics
//
// A repository may hold many fabric folders (Config.Path), each with its
// own Client; the fabrics of one repository may share one clone, their
// Clients given the folders of all of them (Config.Paths). What Sync checks
// out depends on Paths and MaxFileSize only, never on which fabric syncs, so
// that the fabrics sharing a clone take turns without checking it out again;
// and what is wrong outside a client's folder never stops it. A tree entry
// whose name cannot be checked out safely (ErrBadPath: a "..", "." or empty
// component, a backslash, a control character, a ".git" in any case or
// disguise, a duplicate) is left out of the working tree; inside the folder
// of the fabric that syncs it fails Sync, at the first attempt, naming the
// entry, after the rest is checked out. A file over Config.MaxFileSize in a
// raw/ folder of Paths is left out and fails Sync the same way
// (ErrFileTooLarge), with its size and the limit, from the object header,
// without reading it; outside Paths such a file is left out and never read.
// The problems a checkout found are kept beside its state in .git, so that
// a Sync of another fabric with nothing new to check out still reports those
// inside its own folder. What Sync leaves out is recorded in the index as
// skip-worktree (git's sparse checkout), so `git status` in a clone stays
// clean, and Commit keeps it as it is: a commit replaces only the folder it
// commits, every other tree of HEAD is reused by hash.
//
// # Checkout and commit without go-git's worktree
//
// Sync checks out and Commit stages with code of this package, not go-git's
// Worktree: go-git's hard reset and clean are quadratic in the files of a
// folder (the 10,000 files an interrupted ingest left behind took 119 s to
// clean up; here 0.2 s), cannot leave out what they must not touch, and read
// whole blobs into memory (a checkout of a 200 MB file peaked at 870 MiB;
// here 20 MiB, streamed). A fresh clone, measured as the other way out of a
// dirty tree, is slower (1.6-2.0 s for the same repository) and grows with
// the repository, so the clone is repaired in place. The index is kept in
// git's format with the stat data git keeps, and it decides, as in git,
// which files need rewriting. Figures and commands:
// docs/benchmarks-gitops.md. The network side (clone, fetch, push) is
// go-git's, except for indexing a fetched pack (pack.go): go-git's indexer
// keeps up to 96 MiB of resolved objects and every object once in memory (a
// full-history clone of a 5,000-commit repository peaked at 134-258 MiB);
// ours streams whole objects and holds one delta chain at a time, ≈300 bytes
// an object (13-16 MiB of heap for that clone). A fetch of more than
// Config.MaxObjects objects is refused before the download (ErrRepoTooLarge),
// which bounds the memory of a clone of any depth. A push finds what to send
// from its own commits and the folders they changed (sendpack.go), where
// go-git walks every object reachable from the remote's refs at every push:
// 12-30 ms less for a commit of 1,000 files on a 5,000-commit repository.
// The pack it sends is ours too (ownpack.go): whole objects, those the
// commit just wrote copied as the commit deflated them, where go-git's
// encoder read each back from the clone's packs, looked for deltas and
// deflated it again (a push of 1,000 new files 29-40 ms instead of 136-144).
// Over smart HTTP a SyncAt to the head RemoteHead just returned fetches with
// RemoteHead's ref advertisement (held.go): one request instead of two.
//
// A commit writes its objects into one pack that takes in the last commit's
// (objpack.go), and once a clone holds 16 small packs of fetches they are
// folded into that pack too (pack.go's foldSmallPacks): go-git decodes every
// pack index when it opens a clone and looks objects up in each in turn, so
// a pack per job would slow every job after it (after 40 small jobs, 62
// packs and a job's git work 15-20 % slower than with the fold).
//
// # Signed commits
//
// With Auth.SigningKey set, every commit is signed the way git signs it:
// over the commit object without its gpgsig header, the signature stored in
// that header. ReadSigningKey decides the kind from the key file: an OpenPGP
// secret key gives an OpenPGP signature (git commit -S with gpg), an SSH
// private key an SSH signature in namespace "git" (git with gpg.format=ssh,
// OpenSSH's PROTOCOL.sshsig). Commit builds commit objects itself, so the
// signing is done here and not through go-git's CommitOptions; SigningKey
// implements go-git's Signer all the same. docs/SIGNING.md has the details.
//
// gitops never reads the environment or the user's git and ssh
// configuration files: credentials arrive resolved in Auth.
package gitops
