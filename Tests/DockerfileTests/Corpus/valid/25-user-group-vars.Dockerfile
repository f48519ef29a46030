FROM busybox
ARG username=app
USER ${username:-some_user}:staff
WORKDIR /home/$username
COPY --chown=$username:staff --chmod=600 secret.txt ./
