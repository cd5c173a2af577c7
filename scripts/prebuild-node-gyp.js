#!/usr/bin/env node
// Stands in for node-gyp when prebuildify runs (see scripts/prebuild.js). prebuildify calls
// `<this> rebuild --target=... --release ...` in addons/<flavour>/ and then takes the binary from
// build/Release/ there, with any shared library beside it. We build that flavour with cmake-js
// (the CMake project writes the .node straight into addons/<flavour>/build/Release/) and, for the
// CPU flavour, copy the libraries it needs beyond glibc and libstdc++ next to it. The addon's RUNPATH
// is $ORIGIN, so the shipped copies are the ones loaded; each copy gets the same RUNPATH (patchelf),
// because a library's own dependencies (oneDNN's libOpenCL.so.1) are looked up through its RUNPATH,
// not the addon's.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const flavour = process.env.ALEXNET_PREBUILD_FLAVOUR;
if (flavour !== 'cpu' && flavour !== 'cuda') {
  console.error('prebuild-node-gyp: run through scripts/prebuild.js (ALEXNET_PREBUILD_FLAVOUR is not set)');
  process.exit(2);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const build = spawnSync(
  process.execPath,
  [cmakeJs, 'compile', '--out', 'build', '-T', `alexnet_${flavour}`, '--CDALEXNET_PREBUILD=ON'],
  { cwd: root, stdio: 'inherit' },
);
if (build.status !== 0) process.exit(build.status ?? 1);

const output = path.join(root, 'addons', flavour, 'build', 'Release');
const addon = path.join(output, `alexnet_${flavour}.node`);
if (!fs.existsSync(addon)) {
  console.error(`prebuild-node-gyp: cmake-js finished but ${addon} is missing`);
  process.exit(1);
}

if (flavour === 'cpu') {
  // Everything a Linux system is sure to have: the C library family, the C++ runtime, the loader.
  const system = /^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so/;
  const lines = execFileSync('ldd', [addon], { encoding: 'utf8' }).split('\n');
  for (const line of lines) {
    const match = /^\s*(\S+) => (\S+) \(/.exec(line);
    if (!match) continue;
    const [, soname, file] = match;
    if (system.test(soname)) continue;
    const copy = path.join(output, soname);
    fs.copyFileSync(fs.realpathSync(file), copy);
    fs.chmodSync(copy, 0o755);
    const patched = spawnSync('patchelf', ['--set-rpath', '$ORIGIN', copy], { stdio: 'inherit' });
    if (patched.status !== 0) {
      console.error('prebuild-node-gyp: patchelf failed or is missing (apt-get install patchelf)');
      process.exit(1);
    }
    console.log(`prebuild-node-gyp: bundling ${soname} from ${file}`);
  }
}
