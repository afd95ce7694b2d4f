/**
 * The agproxy command: parse argv, load config, listen, print the banner. Loaded by src/index.ts.
 * Exports nothing (bytecode-safe).
 */
import { parseArgs, USAGE } from './cli/args'
import { loadConfig, ConfigError } from './config/load'
import { routesText, clientsText } from './cli/print'
import { keysCommand } from './cli/keys'
import { usageCommand } from './cli/usage'
import { logsCommand } from './cli/logs'
import { serve } from './server'
import { VERSION } from './version'

const args = parseArgs(process.argv.slice(2))
if (args.error) {
  console.error(`agproxy: ${args.error}\nRun agproxy --help for usage.`)
  process.exit(2)
}
if (args.command === 'help') {
  console.log(USAGE)
  process.exit(0)
}
if (args.command === 'version') {
  console.log(VERSION)
  process.exit(0)
}
if (args.command === 'routes') {
  console.log(routesText())
  process.exit(0)
}

let loaded: ReturnType<typeof loadConfig>
try {
  loaded = loadConfig(args.flags)
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`agproxy: ${e.message}`)
    process.exit(1)
  }
  throw e
}

if (args.command === 'clients') {
  console.log(clientsText(loaded.config))
  process.exit(0)
}
if (args.command === 'keys') {
  const r = await keysCommand(loaded.config)
  if (r.code === 0) console.log(r.out)
  else console.error(r.out)
  process.exit(r.code)
}

if (args.command === 'usage' || args.command === 'logs') {
  const o = args.opts ?? {}
  const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined)
  const r =
    args.command === 'usage'
      ? await usageCommand(loaded.config, { since: str(o.since), by: str(o.by), json: o.json === true })
      : await logsCommand(loaded.config, { since: str(o.since), status: str(o.status), model: str(o.model), follow: o.follow === true })
  if (r.out) (r.code === 0 ? console.log : console.error)(r.out)
  process.exit(r.code)
}

try {
  await serve(loaded.config, { file: loaded.file, command: args.command, reload: () => loadConfig(args.flags).config })
} catch (e) {
  console.error(`agproxy: ${(e as Error).message}`)
  process.exit(1)
}
