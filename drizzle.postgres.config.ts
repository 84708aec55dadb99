import { defineConfig } from 'drizzle-kit';

// The PostgreSQL schema (SCALEBOT_DB=postgres://…), the twin of drizzle.config.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/postgres/schema.ts',
  out: './db/postgres/migrations',
});
