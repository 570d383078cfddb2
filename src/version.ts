declare const __FAAS_DEPLOY_VERSION__: string | undefined;

/** The package version, put in by the bundler; "dev" when the sources run directly. */
export const VERSION: string = typeof __FAAS_DEPLOY_VERSION__ === 'string' ? __FAAS_DEPLOY_VERSION__ : 'dev';
