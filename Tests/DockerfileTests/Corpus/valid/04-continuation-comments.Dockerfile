FROM debian:12
RUN apt-get update \
# install the tools
    && apt-get install -y \
        curl \
    # and git
        git \
    && rm -rf /var/lib/apt/lists/*
