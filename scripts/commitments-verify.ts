import { loadProofReading } from '../subgraphs/service';
import { loadServiceConfig } from '../subgraphs/service/config';
import { describeFollowUp, verifyDueCommitments } from '../subgraphs/service/follow-up';
import { httpGatewayClient } from '../subgraphs/service/gateway-client';
import { openCommitmentStore } from '../subgraphs/service/registry';

/**
 * `npm run commitments:verify`: the commitment follow-up, once, now, through the gateway at
 * PROOFLESS_GATEWAY_URL, over the service bureau's store in the data folder. Prints one
 * line of counts, and on stderr why any commitment could not be checked. Exit 0 when every
 * due commitment was checked, 1 when some could not be (they stay PENDING for the next
 * run), 2 when the job cannot run at all.
 */
async function main(): Promise<void> {
  const config = loadServiceConfig(process.env);
  const { catalog, reader } = loadProofReading(config, httpGatewayClient(() => config.gatewayUrl));
  const store = openCommitmentStore(config.registryFile);
  try {
    const summary = await verifyDueCommitments({ store, catalog, reader, credential: config.credential }, new Date());
    console.log(describeFollowUp(summary));
    for (const problem of summary.problems) console.error(problem);
    process.exitCode = summary.unchecked > 0 ? 1 : 0;
  } finally {
    store.close();
  }
}

main().catch((error: Error) => {
  console.error(`commitments:verify: ${error.message}`);
  process.exit(2);
});
