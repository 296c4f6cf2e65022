// Declares, for Emscripten's link-time symbol check only, the host imports that the shim names
// itself. With -sSTANDALONE_WASM no JavaScript is emitted from this file: the imports stay in
// the .wasm, and bindings/loader.ts provides them.
mergeInto(LibraryManager.library, {
  // wasi_snapshot_preview1.random_get (wasm/seed.c): the module's only entropy.
  random_get: function () {
    throw new Error('random_get is provided by the openssl-tls-wasm loader');
  },
});
