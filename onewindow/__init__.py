"""The role-neutral home of OneWindow's command line (`onewindow ROLE ...`), the demo and check-config."""
