import { defaultProjectName } from '../../containers/compose-target.js'
import { OptionalCount, Text } from '../options.js'

/**
 * Which running compose stack a compose lesson works on, as options every one
 * takes: `--project` and `--port`. The defaults find what `docker compose up -d`
 * started in this folder; the Docker is the one the environment points at
 * (DOCKER_HOST, or the default socket).
 */
export const ComposeTargetOptions = {
  project: Text(defaultProjectName(), 'the compose project (docker compose -p; default: COMPOSE_PROJECT_NAME, else this folder\'s name)', '<name>'),
  port: OptionalCount('nginx\'s published port on 127.0.0.1 (default: the one the project\'s nginx container publishes)')
}

/** Those options, decoded. */
export interface ComposeTargetFlags {
  project: string
  port?: number
}
