// A stand-in for `scalebot serve` on a SQLite file, for tests/db/serve-lock.test.ts: it opens the storage as
// serve does, says "serving" and waits to be killed; refused, it prints the message and exits 3.
import { openSqliteStorage, ServeLockedError } from '../../db/storage.ts';

const file = process.argv[2]!;
try {
  openSqliteStorage(file, { serving: true });
  process.stdout.write(`serving ${process.pid}\n`);
  setInterval(() => {}, 60_000);
} catch (error) {
  if (!(error instanceof ServeLockedError)) throw error;
  process.stdout.write(`${error.message}\n`);
  process.exit(3);
}
