// The lists made from the guide's prose (load balancer, stateless design, emergency procedures) and the marked
// database failover test, as the default config loads them: the guide's own numbers and words, item by item,
// and where the guide contradicts itself, the item says so and which reading it took.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import type { Checklist, ChecklistItem } from '../../core/checklists.ts';

const { checklists } = loadConfig();

function list(id: string): Checklist {
  const found = checklists.find((checklist) => checklist.id === id);
  if (!found) throw new Error(`no default checklist ${id}`);
  return found;
}

function item(checklist: Checklist, id: string): ChecklistItem {
  const found = checklist.items.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no item ${id} in ${checklist.id}`);
  return found;
}

const sectionsOf = (checklist: Checklist) => [...new Set(checklist.items.map((entry) => entry.section))];
const runbooksOf = (checklist: Checklist) =>
  checklist.items.flatMap((entry) => (entry.action?.kind === 'runbook' ? [[entry.id, entry.action.runbook] as const] : []));

describe('the load-balancer checklist', () => {
  const lb = list('load-balancer');

  it("follows the guide's three steps: the Hetzner load balancer, identical servers, DNS", () => {
    expect(lb.title).toBe('Add a load balancer');
    expect(sectionsOf(lb)).toEqual(['Step 1: Hetzner Load Balancer', 'Step 2: Identical servers', 'Step 3: Traffic']);
    expect(item(lb, 'lb_create').text).toBe(
      'Create the load balancer in the Hetzner Cloud Console: name galion-lb, same location as the servers, type LB11 ($6/month)',
    );
    expect(item(lb, 'lb_targets').text).toContain('server 1 (current) and server 2 (new, identical setup)');
    expect(item(lb, 'lb_service_https').text).toBe('Add service 1: HTTPS, port 443');
    expect(item(lb, 'lb_service_http').text).toBe('Add service 2: HTTP, port 80, destination port 80');
    expect(item(lb, 'dns_to_lb').text).toBe("Point DNS at the load balancer's IP (not a server's IP)");
    expect(['same_env', 'same_code', 'same_database', 'no_local_state'].map((id) => item(lb, id).text)).toEqual([
      'Same .env file on every server',
      'Same code version on every server',
      'Every server connected to the same database server',
      'No local state: all state in the database or Redis',
    ]);
    // DNS moves last, once the servers answer.
    expect(lb.items.findIndex((entry) => entry.id === 'dns_to_lb')).toBeGreaterThan(lb.items.findIndex((entry) => entry.id === 'backends_healthy'));
  });

  it("carries the guide's settings: least connections, HTTP health check on port 80 every 10 s, 5 s timeout, 3 retries, a sticky cookie", () => {
    expect(item(lb, 'lb_algorithm').text).toMatch(/^Algorithm: least connections /);
    expect(item(lb, 'lb_health_check').text).toBe('Health check on each service: HTTP, port 80, path /health, interval 10 s, timeout 5 s, 3 retries');
    expect(item(lb, 'lb_sticky').text).toBe('Sticky sessions on, cookie galion_lb');
  });

  it('names the guide’s contradictions and the reading it took', () => {
    const health = item(lb, 'lb_health_check').detail!;
    expect(health).toContain('The guide contradicts itself');
    expect(health).toContain('`/health/ready`');
    expect(health).toContain('We use `/health`, as the `load-balancer-backends` runbook checks it');
    const sticky = item(lb, 'lb_sticky').detail!;
    expect(sticky).toContain('`galion_session_id`');
    expect(sticky).toContain('We use `galion_lb`');
    // Hetzner's HTTPS service ends TLS itself: the guide's 443 → 443 would send plain HTTP to a TLS port.
    expect(item(lb, 'lb_service_https').detail).toContain('The guide says destination port 443');
    expect(item(lb, 'lb_service_https').detail).toContain('use destination port 80');
  });

  it('attaches the load-balancer-backends runbook to "/health answers on every app server", and only there', () => {
    expect(runbooksOf(lb)).toEqual([['backends_healthy', 'load-balancer-backends']]);
    expect(item(lb, 'backends_healthy').text).toBe('/health answers on every app server');
    expect(lb.items.some((entry) => entry.destructive)).toBe(false);
  });
});

describe('the stateless checklist', () => {
  const stateless = list('stateless');

  it("lists the guide's DO and DON'T rules in its order, then its restart check with the statelessness-check runbook", () => {
    expect(sectionsOf(stateless)).toEqual(['Do', "Don't", 'Verify']);
    const textsOf = (section: string) => stateless.items.filter((entry) => entry.section === section).map((entry) => entry.text);
    expect(textsOf('Do')).toEqual([
      'Store sessions in Redis (not in memory)',
      'Store files in shared storage (S3 or a shared volume)',
      'Use the database for all persistent data',
      'Use an external cache (Redis), not a local cache',
      'Make API operations idempotent',
      'Use database transactions properly',
    ]);
    expect(textsOf("Don't")).toEqual([
      "Don't store session data in application memory",
      "Don't use the local file system for uploads",
      "Don't use in-memory caching",
      "Don't rely on server state",
      "Don't keep WebSocket state on the server (use Redis pub/sub)",
    ]);
    expect(textsOf('Verify')).toEqual(['Restart any container: the app recovers without data loss, sessions persist, no user-facing errors']);
    expect(runbooksOf(stateless)).toEqual([['verify_restart', 'statelessness-check']]);
    expect(item(stateless, 'verify_restart').detail).toContain('`docker compose restart app-api`');
  });

  it('says where the guide is loose: a "shared volume" on one server, sticky sessions for WebSockets, a restart on one server', () => {
    expect(item(stateless, 'do_shared_files').detail).toMatch(/attached to one server only/);
    expect(item(stateless, 'dont_websocket_state').detail).toContain('sticky sessions important for WebSockets');
    expect(item(stateless, 'verify_restart').detail).toContain('A restart shows recovery, not statelessness across servers');
  });
});

describe('the emergency checklist', () => {
  const emergency = list('emergency');

  it('puts fixes 1 and 2 behind the emergency-quick-fixes runbook, fixes 3 and 4 by hand, then the 1-hour and 1-day lists', () => {
    expect(sectionsOf(emergency)).toEqual(['Quick fixes (5 minutes)', 'Medium term (1 hour)', 'Long term (1 day)']);
    expect(emergency.items.map((entry) => [entry.section, entry.text])).toEqual([
      ['Quick fixes (5 minutes)', 'Fixes 1 and 2: restart the API services to clear memory leaks, clear unneeded Docker data'],
      ['Quick fixes (5 minutes)', 'Fix 3: enable aggressive caching in Nginx (edit nginx.conf, increase cache sizes)'],
      ['Quick fixes (5 minutes)', 'Fix 4: enable Cloudflare "Under Attack Mode" (challenges all visitors before allowing access)'],
      ['Medium term (1 hour)', 'Upgrade to a larger VPS'],
      ['Medium term (1 hour)', 'Enable CDN caching aggressively'],
      ['Medium term (1 hour)', 'Add rate limiting'],
      ['Long term (1 day)', 'Add a second app server'],
      ['Long term (1 day)', 'Set up a load balancer'],
      ['Long term (1 day)', 'Database optimization'],
    ]);
    expect(runbooksOf(emergency)).toEqual([
      ['quick_restart_prune', 'emergency-quick-fixes'],
      ['medium_larger_vps', 'vertical-migration'],
    ]);
    expect(item(emergency, 'quick_restart_prune').detail).toContain('`docker compose restart app-api studio-api`, `docker system prune -a -f`');
    expect(item(emergency, 'long_load_balancer').detail).toBe('`/scale checklist load-balancer`');
    expect(item(emergency, 'long_db_optimization').detail).toBe('`/scale checklist optimize`');
  });

  it("says what the guide's fixes cost: cached private answers, API clients behind the challenge, a migration longer than 1 hour", () => {
    expect(item(emergency, 'quick_nginx_cache').detail).toContain('Cache only public GET responses');
    expect(item(emergency, 'quick_cloudflare_attack_mode').detail).toContain('API clients, mobile apps and webhooks');
    expect(item(emergency, 'medium_larger_vps').detail).toContain('1-2 hours, more than this list\'s "1 hour"');
  });
});

describe('destructive items', () => {
  it('marks the database failover test, and only it, as destructive and for a scratch replica', () => {
    const destructive = checklists.flatMap((checklist) => checklist.items.filter((entry) => entry.destructive).map((entry) => `${checklist.id}.${entry.id}`));
    expect(destructive).toEqual(['tests.db_failover_test']);
    const failover = item(list('tests'), 'db_failover_test');
    expect(failover).toMatchObject({ destructive: true, action: { kind: 'runbook', runbook: 'db-failover' } });
    expect(failover.text).toBe('Database failover test on a SCRATCH replica: promote it, writes still work (cannot be undone)');
    expect(failover.detail).toContain('The guide calls this a test, but a promoted replica never replicates again');
    expect(item(list('tests'), 'failover_test').destructive).toBeUndefined();
  });
});
