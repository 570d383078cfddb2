module faas-deploy.test/of-watchdog-compat

go 1.26
