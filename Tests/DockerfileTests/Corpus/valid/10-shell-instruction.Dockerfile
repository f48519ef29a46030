FROM mcr.microsoft.com/powershell
SHELL ["pwsh", "-command"]
RUN Write-Host hello
SHELL ["/bin/bash", "-eo", "pipefail", "-c"]
RUN set -x; echo ok | cat
