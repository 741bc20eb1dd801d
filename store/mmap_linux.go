package store

import "syscall"

// mmapFlags are the flags bbolt maps the file with, beside its own. MAP_POPULATE maps every page
// of the file at once: Open reads every record, and bbolt advises the kernel that its reads are
// random, so that each page would otherwise cost a fault of its own.
const mmapFlags = syscall.MAP_POPULATE
