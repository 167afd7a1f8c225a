// The properties panel shows only what Jornada's engine reads (docs/dialect.md): Camunda 7 groups and fields the
// engine ignores (listeners, async continuations, input/output mappings, job and history settings, due and
// follow-up dates, …) are hidden, so a designer never sets something that silently does nothing.

/** Groups of the Camunda 7 provider the engine does not read. */
export const HIDDEN_GROUPS = [
  'CamundaPlatform__AsynchronousContinuations',
  'CamundaPlatform__BusinessKey',
  'CamundaPlatform__CandidateStarter',
  'CamundaPlatform__ConnectorInput',
  'CamundaPlatform__ConnectorOutput',
  'CamundaPlatform__Errors',
  'CamundaPlatform__ExecutionListener',
  'CamundaPlatform__ExternalTask',
  'CamundaPlatform__FieldInjection',
  'CamundaPlatform__HistoryCleanup',
  'CamundaPlatform__InMapping',
  'CamundaPlatform__InMappingPropagation',
  'CamundaPlatform__Input',
  'CamundaPlatform__JobExecution',
  'CamundaPlatform__OutMapping',
  'CamundaPlatform__OutMappingPropagation',
  'CamundaPlatform__Output',
  'CamundaPlatform__StartInitiator',
  'CamundaPlatform__TaskListener',
  'CamundaPlatform__Tasklist'
];

/** Fields of the groups kept that the engine does not read, by group id. */
export const HIDDEN_ENTRIES = {
  CamundaPlatform__UserAssignment: ['dueDate', 'followUpDate']
};

function EngineReadsFilter(propertiesPanel) {
  this.getGroups = function() {
    return function(groups) {
      return groups
        .filter((group) => !HIDDEN_GROUPS.includes(group.id))
        .map((group) => {
          const hidden = HIDDEN_ENTRIES[group.id];
          return hidden && group.entries
            ? { ...group, entries: group.entries.filter((entry) => !hidden.includes(entry.id)) }
            : group;
        });
    };
  };
  propertiesPanel.registerProvider(2, this); // after the Camunda and SLA providers, before the translation one
}

EngineReadsFilter.$inject = ['propertiesPanel'];

export const PanelFilterModule = {
  __init__: ['jornadaPanelFilter'],
  jornadaPanelFilter: ['type', EngineReadsFilter]
};
