// Each test starts its own target and drives it hard (iscsi-test-cu, 256 MiB copies); running
// them side by side on a 2-core machine would only make both slower and flakier.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
