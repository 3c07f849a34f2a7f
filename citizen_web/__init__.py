"""The citizen web (互联网+政务服务): public phone pages served by `onewindow web` from a mirror of the hall bus."""
