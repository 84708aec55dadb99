import { defineConfig } from 'drizzle-kit';

// The SQLite schema (the embedded default). PostgreSQL's twin is drizzle.postgres.config.ts: `npm run db:generate` runs both.
export default defineConfig({
  dialect: 'sqlite',
  schema: './db/schema.ts',
  out: './db/migrations',
});
