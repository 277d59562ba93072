import {
  checkZone,
  machineTypeResource,
  networkResource,
  newestInFamily,
  publicImage,
  subnetworkResource,
  zoneResource,
} from './gce-emulator-catalog.js';
import { serialPortOutput } from './gce-emulator-console.js';
import { notFound, type Route } from './gce-emulator-http.js';
import { deleteInstance, getInstance, insertInstance, zoneInstances } from './gce-emulator-instances.js';
import { aggregated, list } from './gce-emulator-lists.js';
import { guestAttributes } from './gce-emulator-metadata.js';
import { getOperation, once, operationsIn, waitFor } from './gce-emulator-operations.js';
import { API_BASE, type GceEmulatorState } from './gce-emulator-state.js';

const P = '^/compute/v1/projects/([^/]+)';

/** The Compute Engine v1 methods the emulator answers, by HTTP method and path. */
export function gceRoutes(gce: GceEmulatorState): Route[] {
  const project = `${API_BASE}projects/${gce.projectId}`;
  return [
    [
      'POST',
      new RegExp(`${P}/zones/([^/]+)/instances$`),
      'instances.insert',
      ([zone], q, body) => once(gce, q, () => insertInstance(gce, zone!, body)),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances$`),
      'instances.list',
      ([zone], q) => {
        checkZone(gce, zone!);
        const selfLink = `${gce.zoneUrl(zone!)}/instances`;
        return list(gce, 'compute#instanceList', selfLink, zoneInstances(gce, zone!), q);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/aggregated/instances$`),
      'instances.aggregatedList',
      (_m, q) =>
        aggregated(
          gce,
          'compute#instanceAggregatedList',
          `${project}/aggregated/instances`,
          'instances',
          new Map(gce.allZones.map((z) => [z, zoneInstances(gce, z)])),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`),
      'instances.get',
      ([zone, name]) => getInstance(gce, zone!, name!).resource,
    ],
    [
      'DELETE',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`),
      'instances.delete',
      ([zone, name], q) => once(gce, q, () => deleteInstance(gce, zone!, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)/getGuestAttributes$`),
      'instances.getGuestAttributes',
      ([zone, name], q) => guestAttributes(getInstance(gce, zone!, name!), q),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)/serialPort$`),
      'instances.getSerialPortOutput',
      ([zone, name], q) => serialPortOutput(getInstance(gce, zone!, name!), q),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/operations$`),
      'zoneOperations.list',
      ([zone], q) => {
        checkZone(gce, zone!);
        const selfLink = `${gce.zoneUrl(zone!)}/operations`;
        return list(gce, 'compute#operationList', selfLink, operationsIn(gce, zone!), q);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)$`),
      'zoneOperations.get',
      ([zone, name]) => getOperation(gce, zone!, name!).resource,
    ],
    [
      'POST',
      new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)/wait$`),
      'zoneOperations.wait',
      ([zone, name]) => waitFor(gce, getOperation(gce, zone!, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/global/operations$`),
      'globalOperations.list',
      (_m, q) =>
        list(gce, 'compute#operationList', `${project}/global/operations`, operationsIn(gce, undefined), q),
    ],
    [
      'GET',
      new RegExp(`${P}/global/operations/([^/]+)$`),
      'globalOperations.get',
      ([name]) => getOperation(gce, undefined, name!).resource,
    ],
    [
      'POST',
      new RegExp(`${P}/global/operations/([^/]+)/wait$`),
      'globalOperations.wait',
      ([name]) => waitFor(gce, getOperation(gce, undefined, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/aggregated/operations$`),
      'globalOperations.aggregatedList',
      (_m, q) =>
        aggregated(
          gce,
          'compute#operationAggregatedList',
          `${project}/aggregated/operations`,
          'operations',
          new Map(gce.allZones.map((z) => [z, operationsIn(gce, z)])),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/images$`),
      'images.list',
      (_p, q, _b, imageProject) =>
        list(
          gce,
          'compute#imageList',
          `${API_BASE}projects/${imageProject}/global/images`,
          gce.images.filter((i) => i.project === imageProject).map(publicImage),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/images/family/([^/]+)$`),
      'images.getFromFamily',
      ([family], _q, _b, imageProject) => {
        const image = newestInFamily(gce, imageProject!, family!);
        if (!image) throw notFound(`projects/${imageProject}/global/images/family/${family}`);
        return publicImage(image);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/global/images/([^/]+)$`),
      'images.get',
      ([name], _q, _b, imageProject) => {
        const image = gce.images.find((i) => i.project === imageProject && i.name === name);
        if (!image) throw notFound(`projects/${imageProject}/global/images/${name}`);
        return publicImage(image);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/machineTypes$`),
      'machineTypes.list',
      ([zone], q) => {
        checkZone(gce, zone!);
        return list(
          gce,
          'compute#machineTypeList',
          `${gce.zoneUrl(zone!)}/machineTypes`,
          [...gce.machineTypes].map((t) => machineTypeResource(gce, zone!, t)),
          q,
        );
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/machineTypes/([^/]+)$`),
      'machineTypes.get',
      ([zone, name]) => {
        checkZone(gce, zone!);
        if (!gce.machineTypes.has(name!))
          throw notFound(`projects/${gce.projectId}/zones/${zone}/machineTypes/${name}`);
        return machineTypeResource(gce, zone!, name!);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones$`),
      'zones.list',
      (_m, q) =>
        list(
          gce,
          'compute#zoneList',
          `${project}/zones`,
          gce.allZones.map((zone) => zoneResource(gce, zone)),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)$`),
      'zones.get',
      ([zone]) => {
        checkZone(gce, zone!);
        return zoneResource(gce, zone!);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/global/networks/([^/]+)$`),
      'networks.get',
      ([name]) => networkResource(gce, name!),
    ],
    [
      'GET',
      new RegExp(`${P}/regions/([^/]+)/subnetworks/([^/]+)$`),
      'subnetworks.get',
      ([region, name]) => subnetworkResource(gce, region!, name!),
    ],
  ];
}
