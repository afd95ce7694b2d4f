#!/usr/bin/env bash
# Install Claude Code, Codex CLI and Gemini CLI from npm into .cache/clis (skipped when they already run).
#
# Claude Code 2.x ships its native binary in a per-platform optional dependency and copies it over the
# bin/claude.exe placeholder in a postinstall script. npm 11 may skip install scripts that are not
# approved (allowScripts), so when `claude --version` does not run after the install, this script runs
# that one postinstall itself. Codex CLI's JS launcher finds its per-platform optional dependency at run
# time; Gemini CLI is plain JavaScript (Node.js >= 20). AGPROXY_CLIS_DIR overrides the directory.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${AGPROXY_CLIS_DIR:-.cache/clis}
bin=$dir/node_modules/.bin
want="@anthropic-ai/claude-code@2 @openai/codex@0 @google/gemini-cli@0"

runs() { "$bin/$1" --version >/dev/null 2>&1 </dev/null; }
all_run() { runs claude && runs codex && runs gemini; }

if all_run; then exit 0; fi
echo "test setup: installing coding CLIs into $dir (npm)…"
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"agproxy-test-clis","private":true}' > "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --include=optional $want >/dev/null

# Claude Code: place the native binary when npm did not run the package's postinstall.
cc=$dir/node_modules/@anthropic-ai/claude-code
if ! runs claude && [ -f "$cc/install.cjs" ]; then
  echo "test setup: running @anthropic-ai/claude-code's postinstall (npm skipped it)…"
  (cd "$cc" && node install.cjs) || true
fi

status=0
for c in claude codex gemini; do
  if v=$("$bin/$c" --version 2>&1 </dev/null); then echo "test setup: $c $(echo "$v" | head -1)"
  else echo "test setup: $c does not run: $(echo "$v" | tail -3)"; status=1; fi
done
exit $status
