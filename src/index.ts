/** The package's library entry: the SDK (the server is run with the `outcall` command). */
export * from './sdk/index.js';
