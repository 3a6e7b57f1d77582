import { startTestServer } from './test/support/pg.ts';
import { describeQueryUnrun } from './src/sync/catalog.ts';
const pg = await startTestServer();
const c = await pg.client('postgres');
c.connection.on('message', (m: any) => console.log('msg', m.name));
const r = await Promise.race([describeQueryUnrun(c, "SELECT 1 AS x, pg_sleep(5) AS z"), new Promise(r=>setTimeout(()=>r('timeout'),3000))]);
console.log(r);
await pg.stop(); process.exit(0);
