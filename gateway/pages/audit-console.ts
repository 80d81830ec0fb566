import path from 'node:path';
import type { RouteHandler } from '../../lib/graphql-http';
import { auditConsoleOperationsScript } from './audit-console/operations';
import { generatedScript, readStaticFile, staticRoute } from './static-route';

const FILES = path.join(__dirname, 'audit-console');

/**
 * The auditors' console at `/audit`: a plain page whose script reads the audit log
 * through the gateway's own `/graphql` under the auditor's token, so it needs no access
 * of its own and every search it makes is audited like any other query. Its script and
 * style are separate files so the page's policy can forbid inline script; so is the
 * generated script holding its operations (audit-console/operations.ts says why).
 */
export function auditConsoleRoutes(): Record<string, RouteHandler> {
  return {
    '/audit': staticRoute(readStaticFile(path.join(FILES, 'index.html'))),
    '/audit/operations.js': staticRoute(generatedScript(auditConsoleOperationsScript())),
    '/audit/console.js': staticRoute(readStaticFile(path.join(FILES, 'console.js'))),
    '/audit/console.css': staticRoute(readStaticFile(path.join(FILES, 'console.css'))),
  };
}
