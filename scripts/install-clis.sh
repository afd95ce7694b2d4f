#!/usr/bin/env bash
# Install Claude Code, Codex CLI and Gemini CLI from npm into .cache/clis (skipped when present).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/clis
want="@anthropic-ai/claude-code@2 @openai/codex@0 @google/gemini-cli@0"
if [ -x "$dir/node_modules/.bin/claude" ] && [ -x "$dir/node_modules/.bin/codex" ] && [ -x "$dir/node_modules/.bin/gemini" ]; then exit 0; fi
echo "test setup: installing coding CLIs into $dir (npm)…"
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"agproxy-test-clis","private":true}' > "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error $want >/dev/null
