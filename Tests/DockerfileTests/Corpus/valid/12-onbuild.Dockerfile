FROM node:20
ONBUILD COPY . /app/src
ONBUILD RUN npm install
onbuild   run   echo lower case
