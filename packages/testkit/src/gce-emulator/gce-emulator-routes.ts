import {
  checkZone,
  machineTypeResource,
  networkResource,
  newestInFamily,
  publicImage,
  subnetworkResource,
  zoneResource,
} from './gce-emulator-catalog.js';
import { notFound, type Route } from './gce-emulator-http.js';
import { deleteInstance, getInstance, insertInstance, zoneInstances } from './gce-emulator-instances.js';
import { aggregated, list } from './gce-emulator-lists.js';
import { guestAttributes } from './gce-emulator-metadata.js';
import { getOperation, once, operationsIn, waitFor } from './gce-emulator-operations.js';
import { API_BASE, type GceEmulatorState } from './gce-emulator-state.js';

const P = '^/compute/v1/projects/([^/]+)';

/** The Compute Engine v1 methods the emulator answers, by HTTP method and path. */
export function gceRoutes(state: GceEmulatorState): Route[] {
  const project = `${API_BASE}projects/${state.projectId}`;
  return [
    [
      'POST',
      new RegExp(`${P}/zones/([^/]+)/instances$`),
      'instances.insert',
      ([zone], q, body) => once(state, q, () => insertInstance(state, zone!, body)),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances$`),
      'instances.list',
      ([zone], q) => {
        checkZone(state, zone!);
        const selfLink = `${state.zoneUrl(zone!)}/instances`;
        return list(state, 'compute#instanceList', selfLink, zoneInstances(state, zone!), q);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/aggregated/instances$`),
      'instances.aggregatedList',
      (_m, q) =>
        aggregated(
          state,
          'compute#instanceAggregatedList',
          `${project}/aggregated/instances`,
          'instances',
          new Map(state.allZones.map((z) => [z, zoneInstances(state, z)])),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`),
      'instances.get',
      ([zone, name]) => getInstance(state, zone!, name!).resource,
    ],
    [
      'DELETE',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`),
      'instances.delete',
      ([zone, name], q) => once(state, q, () => deleteInstance(state, zone!, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)/getGuestAttributes$`),
      'instances.getGuestAttributes',
      ([zone, name], q) => guestAttributes(getInstance(state, zone!, name!), q),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/operations$`),
      'zoneOperations.list',
      ([zone], q) => {
        checkZone(state, zone!);
        const selfLink = `${state.zoneUrl(zone!)}/operations`;
        return list(state, 'compute#operationList', selfLink, operationsIn(state, zone!), q);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)$`),
      'zoneOperations.get',
      ([zone, name]) => getOperation(state, zone!, name!).resource,
    ],
    [
      'POST',
      new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)/wait$`),
      'zoneOperations.wait',
      ([zone, name]) => waitFor(state, getOperation(state, zone!, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/global/operations$`),
      'globalOperations.list',
      (_m, q) =>
        list(
          state,
          'compute#operationList',
          `${project}/global/operations`,
          operationsIn(state, undefined),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/operations/([^/]+)$`),
      'globalOperations.get',
      ([name]) => getOperation(state, undefined, name!).resource,
    ],
    [
      'POST',
      new RegExp(`${P}/global/operations/([^/]+)/wait$`),
      'globalOperations.wait',
      ([name]) => waitFor(state, getOperation(state, undefined, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/aggregated/operations$`),
      'globalOperations.aggregatedList',
      (_m, q) =>
        aggregated(
          state,
          'compute#operationAggregatedList',
          `${project}/aggregated/operations`,
          'operations',
          new Map(state.allZones.map((z) => [z, operationsIn(state, z)])),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/images$`),
      'images.list',
      (_p, q, _b, imageProject) =>
        list(
          state,
          'compute#imageList',
          `${API_BASE}projects/${imageProject}/global/images`,
          state.images.filter((i) => i.project === imageProject).map(publicImage),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/images/family/([^/]+)$`),
      'images.getFromFamily',
      ([family], _q, _b, imageProject) => {
        const image = newestInFamily(state, imageProject!, family!);
        if (!image) throw notFound(`projects/${imageProject}/global/images/family/${family}`);
        return publicImage(image);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/global/images/([^/]+)$`),
      'images.get',
      ([name], _q, _b, imageProject) => {
        const image = state.images.find((i) => i.project === imageProject && i.name === name);
        if (!image) throw notFound(`projects/${imageProject}/global/images/${name}`);
        return publicImage(image);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/machineTypes$`),
      'machineTypes.list',
      ([zone], q) => {
        checkZone(state, zone!);
        return list(
          state,
          'compute#machineTypeList',
          `${state.zoneUrl(zone!)}/machineTypes`,
          [...state.machineTypes].map((t) => machineTypeResource(state, zone!, t)),
          q,
        );
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/machineTypes/([^/]+)$`),
      'machineTypes.get',
      ([zone, name]) => {
        checkZone(state, zone!);
        if (!state.machineTypes.has(name!))
          throw notFound(`projects/${state.projectId}/zones/${zone}/machineTypes/${name}`);
        return machineTypeResource(state, zone!, name!);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones$`),
      'zones.list',
      (_m, q) =>
        list(
          state,
          'compute#zoneList',
          `${project}/zones`,
          state.allZones.map((zone) => zoneResource(state, zone)),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)$`),
      'zones.get',
      ([zone]) => {
        checkZone(state, zone!);
        return zoneResource(state, zone!);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/global/networks/([^/]+)$`),
      'networks.get',
      ([name]) => networkResource(state, name!),
    ],
    [
      'GET',
      new RegExp(`${P}/regions/([^/]+)/subnetworks/([^/]+)$`),
      'subnetworks.get',
      ([region, name]) => subnetworkResource(state, region!, name!),
    ],
  ];
}
