// tsc compiles only .ts files; what ships beside the compiled code is copied here:
// the SQL migrations beside the store code, and the dashboard's static files (HTML, CSS and
// browser modules, served as they are) beside src/dashboard/routes.ts's compiled twin.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
mkdirSync('dist/store/migrations', { recursive: true });
cpSync('src/store/migrations', 'dist/store/migrations', { recursive: true });
// Cleared first, so a file deleted from src/dashboard/public is not served from an old build.
rmSync('dist/dashboard/public', { recursive: true, force: true });
mkdirSync('dist/dashboard', { recursive: true });
cpSync('src/dashboard/public', 'dist/dashboard/public', { recursive: true });
