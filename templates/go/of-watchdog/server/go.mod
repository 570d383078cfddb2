module faas-deploy.invalid/server

go 1.22
