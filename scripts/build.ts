import path from 'node:path';
import { buildForProduction } from '../lib/build';

/** `npm run build`: the gateway and the departments compiled to `dist/` (npm start and npm run bench build it themselves). */
const dist = buildForProduction();
console.log(`built ${path.relative(process.cwd(), dist) || '.'}`);
