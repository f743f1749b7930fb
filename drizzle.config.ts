// drizzle-kit: generates the SQLite engine's migrations in migrations/sqlite/ from its schema
// files in server/storage/sqlite/schema/ (one file per concern). `npm run db:generate` after a
// schema change. The SQL files are tracked by hash in every database: never edit a committed one.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './server/storage/sqlite/schema/*.ts',
  out: './migrations/sqlite',
});
