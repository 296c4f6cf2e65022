// Declares, for Emscripten's link-time symbol check only, the host imports that make kat's test
// program (wasm/kat/kat.c) names. With -sSTANDALONE_WASM no JavaScript is emitted from this
// file; test/kat/worker.mjs provides them.
mergeInto(LibraryManager.library, {
  // kat.file_size and kat.file_read: a data file's bytes, which the host reads from disk.
  file_size: function () {
    throw new Error('file_size is provided by test/kat/worker.mjs');
  },
  file_read: function () {
    throw new Error('file_read is provided by test/kat/worker.mjs');
  },
});
