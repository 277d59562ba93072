// The backend loads the Google SDK on first use (~1.5 s, far more on a loaded machine). Tests
// load it up front, outside any test's timeout; the lazy loading itself is tested in a child
// process (gce-lazy-import.test.ts).
await import('@google-cloud/compute');
