#!/usr/bin/env node
// faas-deploy CLI: the code is in cli-main.js (see scripts/build.mjs).
process.getBuiltinModule('node:module').enableCompileCache?.();
await import('./cli-main.js');
