#!/usr/bin/env bash
# Rebuilds the playground's committed files in dist/ from web/: installs the
# pinned packages of web/package-lock.json, then bundles (web/build.mjs).
# Commit dist/ afterwards; the server embeds it.
set -euo pipefail
cd "$(dirname "$0")/web"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
