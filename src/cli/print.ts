/** What the CLI prints: the route table, the client settings, the start banner. */
import { ROUTES } from '../http/route-table'

export { displayOrigin, clientsText } from '../http/banner'

/** The route table, one line per route. */
export function routesText(): string {
  return ROUTES.map(r => `${r.methods.join(',').padEnd(9)} ${r.path.padEnd(46)} ${r.tag.padEnd(9)} ${r.summary}`).join('\n')
}
