module faas-deploy.test/classic-watchdog-compat

go 1.26
