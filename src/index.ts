/** Cairn's public entry point: the client SDK and the pieces people embed. */

export { checkHistory, renderHtmlReport } from './check/index.js';
export { CairnError, Client, type ClientOptions, Watch } from './client/index.js';
