import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { ejabberdMqttSettings, ejabberdMqttYaml, mosquittoAcl } from '../../src/reference-exchange/index.js';

const OPERATIONS = readFileSync(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8');

t.test('docs/OPERATIONS.md shows the ejabberd settings the tests run, verbatim', async (t) => {
  t.ok(OPERATIONS.includes(`\`\`\`yaml\n${ejabberdMqttYaml()}\`\`\``), 'the generated block is in the page');
  const parsed = parse(ejabberdMqttYaml());
  t.same(parsed, ejabberdMqttSettings(), 'the text is the settings');
  t.match(
    ejabberdMqttYaml(),
    /^ {6}"ctop\/v1\/#": ctop_exchange$/m,
    'topic filters quoted (ejabberd refuses atoms)',
  );
});

t.test(
  'the ejabberd ACL grants a gateway what the mosquitto ACL grants, and the exchange everything',
  async (t) => {
    const mqtt = (ejabberdMqttSettings() as { modules: { mod_mqtt: Record<string, Record<string, string>> } })
      .modules.mod_mqtt;
    const lines = mosquittoAcl().split('\n');
    const patterns = (verb: RegExp) =>
      lines
        .map((l) => /^pattern (\w+) (\S+)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && verb.test(m[1]!))
        .map((m) => m[2]!)
        .sort();
    const granted = (rules: Record<string, string>) =>
      Object.entries(rules)
        .filter(([, rule]) => rule === 'all')
        .map(([topic]) => topic)
        .sort();
    t.same(granted(mqtt.access_publish!), patterns(/write/), 'publish = mosquitto write');
    t.same(granted(mqtt.access_subscribe!), patterns(/read/), 'subscribe = mosquitto read');
    t.equal(mqtt.access_publish!['ctop/v1/#'], 'ctop_exchange');
    t.equal(mqtt.access_subscribe!['ctop/v1/#'], 'ctop_exchange');
    t.equal(
      mqtt.session_expiry as unknown as number,
      604_800,
      'the 7 days gateways ask, not ejabberd’s 5 minutes',
    );
  },
);
